"""One DATABASE_URL for every store: sqlite:///path (default) or postgresql://user:pw@host/db."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database location."""

    backend: str  # "sqlite" or "postgres"
    sqlite_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        """Parse a URL; raises ValueError with a readable reason for anything else."""
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        if scheme == "sqlite":
            raw = unquote(url.split("://", 1)[1])
            path = raw[1:] if raw.startswith("/") else raw
            if not path:
                raise ValueError("sqlite URL needs a file path: sqlite:///var/case.db")
            return cls(backend="sqlite", sqlite_path=Path(path))
        if scheme in ("postgres", "postgresql"):
            query = parse_qs(parts.query)
            return cls(
                backend="postgres",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or ""),
                password=unquote(parts.password or ""),
                dbname=parts.path.lstrip("/") or "postgres",
                schema=query.get("schema", ["public"])[0],
            )
        raise ValueError(f"unsupported database URL scheme {parts.scheme!r}: "
                         "use sqlite:///path or postgresql://...")

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment the eventsourcing library reads to build its recorders."""
        if self.backend == "sqlite":
            assert self.sqlite_path is not None
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(self.sqlite_path), "SQLITE_LOCK_TIMEOUT": "10"}
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname, "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port), "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password, "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": "8", "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_LOCK_TIMEOUT": "10", "POSTGRES_CONNECT_TIMEOUT": "10",
        }

    def redacted(self) -> str:
        """The URL without its password, for logs and banners."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"postgresql://{self.user}:***@{self.host}:{self.port}/{self.dbname}"
