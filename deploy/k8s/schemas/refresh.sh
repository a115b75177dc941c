#!/usr/bin/env bash
# Regenerates the vendored CRD schemas (the *.json beside this file) from the pinned releases,
# fetched from package registries only. Not part of validation (which is offline); run it when
# a version below changes, review the diff, and update README.md's table.
#
# Needs: Maven and a Java >= 21 (Strimzi's crd-generator 1.x is built for 21; JAVA=path/to/java
# or any /usr/lib/jvm/*), Go (module downloads only: no Go code is built or vendored), uv.
set -euo pipefail
cd "$(dirname "$0")"

STRIMZI_VERSION=1.2.0                 # io.strimzi:api + io.strimzi:crd-generator (Maven Central)
CNPG_VERSION=v1.30.0                  # github.com/cloudnative-pg/cloudnative-pg (Go module)
BARMAN_PLUGIN_VERSION=v0.13.0         # github.com/cloudnative-pg/plugin-barman-cloud (Go module)

UV=$(command -v uv || echo "$HOME/.local/bin/uv")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

java_bin() {
  local candidate version
  for candidate in "${JAVA:-}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version=$("$candidate" -XshowSettings:properties -version 2>&1 \
              | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${version%%.*}" -ge 21 ] 2>/dev/null; then echo "$candidate"; return; fi
  done
  echo "no Java >= 21 found (set JAVA=...)" >&2; return 1
}

# Strimzi: its CRDs are generated from the api module's classes by its crd-generator, with the
# arguments of the api module's own build (api-$STRIMZI_VERSION.pom). Both jars are on Maven
# Central; this reproduces packaging/install/cluster-operator/04x-Crd-*.yaml of the release.
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.casetrail</groupId><artifactId>strimzi-crds</artifactId><version>0</version>
  <dependencies>
    <dependency><groupId>io.strimzi</groupId><artifactId>api</artifactId><version>$STRIMZI_VERSION</version></dependency>
    <dependency><groupId>io.strimzi</groupId><artifactId>crd-generator</artifactId><version>$STRIMZI_VERSION</version></dependency>
  </dependencies>
</project>
POM
(cd "$work" && mvn -q -B dependency:build-classpath -Dmdep.outputFile=cp.txt)
mkdir -p "$work/strimzi"
"$(java_bin)" -cp "$(cat "$work/cp.txt")" io.strimzi.crdgenerator.CrdGenerator \
  --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
  --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
  io.strimzi.api.kafka.model.kafka.Kafka="$work/strimzi/040-Crd-kafka.yaml" \
  io.strimzi.api.kafka.model.topic.KafkaTopic="$work/strimzi/043-Crd-kafkatopic.yaml" \
  io.strimzi.api.kafka.model.nodepool.KafkaNodePool="$work/strimzi/045-Crd-kafkanodepool.yaml"

# CloudNativePG and its Barman Cloud plugin: the CRD YAMLs inside the Go module zips (data only).
module_dir() { GOFLAGS=-mod=mod go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'; }
cnpg=$(module_dir "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION")
barman=$(module_dir "github.com/cloudnative-pg/plugin-barman-cloud@$BARMAN_PLUGIN_VERSION")

extract() { "$UV" run --no-project --quiet --with pyyaml==6.0.3 python ../validate.py extract-crd --out . "$@"; }
extract --source "Strimzi $STRIMZI_VERSION (io.strimzi:api + io.strimzi:crd-generator, Maven Central)" \
  "$work"/strimzi/*.yaml
extract --source "CloudNativePG $CNPG_VERSION (Go module github.com/cloudnative-pg/cloudnative-pg, config/crd/bases)" \
  "$cnpg/config/crd/bases/postgresql.cnpg.io_clusters.yaml" \
  "$cnpg/config/crd/bases/postgresql.cnpg.io_databases.yaml" \
  "$cnpg/config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml"
extract --source "Barman Cloud plugin $BARMAN_PLUGIN_VERSION (Go module github.com/cloudnative-pg/plugin-barman-cloud, config/crd/bases)" \
  "$barman/config/crd/bases/barmancloud.cnpg.io_objectstores.yaml"
sha256sum ./*.json
