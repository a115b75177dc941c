// Command goverify checks casetrail's audit checkpoints with Go's own transparency-log
// packages, sharing no code with casetrail: golang.org/x/mod/sumdb/note verifies the signed
// note (c2sp.org/signed-note), golang.org/x/mod/sumdb/tlog checks RFC 6962 consistency and
// inclusion proofs against the note's root. The leaf encoding is reimplemented here from
// its specification (docs/audit.md, casetrail/merkle.py).
//
// Usage: goverify INPUT.json, where INPUT holds
//
//	{"verifier_key": "<name>+<hash>+<key>", "origin": "<expected origin>",
//	 "note": "<checkpoint note>",
//	 "old_note": "<an older checkpoint note>", "consistency": ["<hex>", ...],  (optional)
//	 "events": [{"position", "case_id", "version", "type", "payload" (base64),
//	             "leaf_index", "proof": ["<hex>", ...]}, ...]}                   (optional)
//
// It prints "OK origin=<origin> size=<size> root=<base64 root>" and exits 0 when everything
// verifies, or prints what failed and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type event struct {
	Position  uint64   `json:"position"`
	CaseID    string   `json:"case_id"`
	Version   uint32   `json:"version"`
	Type      string   `json:"type"`
	Payload   string   `json:"payload"`
	LeafIndex *int64   `json:"leaf_index"`
	Proof     []string `json:"proof"`
}

type input struct {
	VerifierKey string   `json:"verifier_key"`
	Origin      string   `json:"origin"`
	Note        string   `json:"note"`
	OldNote     string   `json:"old_note"`
	Consistency []string `json:"consistency"`
	Events      []event  `json:"events"`
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// open verifies a signed note with the one trusted key and parses its tlog-checkpoint body.
func open(msg string, verifiers note.Verifiers, origin string) (checkpoint, error) {
	n, err := note.Open([]byte(msg), verifiers)
	if err != nil {
		return checkpoint{}, fmt.Errorf("note: %w", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return checkpoint{}, errors.New("checkpoint: fewer than three lines")
	}
	if lines[0] != origin {
		return checkpoint{}, fmt.Errorf("checkpoint: origin %q, want %q", lines[0], origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("checkpoint: bad root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return checkpoint{origin: lines[0], size: size, root: root}, nil
}

func hashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, h := range list {
		raw, err := hex.DecodeString(h)
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("proof element %d is not a hex SHA-256 hash", i)
		}
		copy(out[i][:], raw)
	}
	return out, nil
}

func uuidBytes(id string) ([]byte, error) {
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 {
		return nil, fmt.Errorf("case id %q is not a UUID", id)
	}
	return raw, nil
}

// leafData is casetrail's leaf encoding: position (8), case UUID (16), version (4),
// len(type) (2), type, len(payload) (4), payload; integers big-endian.
func leafData(e event) ([]byte, error) {
	caseID, err := uuidBytes(e.CaseID)
	if err != nil {
		return nil, err
	}
	payload, err := base64.StdEncoding.DecodeString(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload is not base64: %w", err)
	}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, e.Position)
	b.Write(caseID)
	_ = binary.Write(&b, binary.BigEndian, e.Version)
	_ = binary.Write(&b, binary.BigEndian, uint16(len(e.Type)))
	b.WriteString(e.Type)
	_ = binary.Write(&b, binary.BigEndian, uint32(len(payload)))
	b.Write(payload)
	return b.Bytes(), nil
}

func run(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var in input
	if err := json.Unmarshal(data, &in); err != nil {
		return "", fmt.Errorf("input: %w", err)
	}
	verifier, err := note.NewVerifier(in.VerifierKey)
	if err != nil {
		return "", fmt.Errorf("verifier key: %w", err)
	}
	known := note.VerifierList(verifier)
	cp, err := open(in.Note, known, in.Origin)
	if err != nil {
		return "", err
	}
	checked := []string{"note signature"}
	if in.OldNote != "" {
		old, err := open(in.OldNote, known, in.Origin)
		if err != nil {
			return "", fmt.Errorf("old %w", err)
		}
		proof, err := hashes(in.Consistency)
		if err != nil {
			return "", fmt.Errorf("consistency: %w", err)
		}
		if err := tlog.CheckTree(proof, cp.size, cp.root, old.size, old.root); err != nil {
			return "", fmt.Errorf("consistency %d -> %d: %w", old.size, cp.size, err)
		}
		checked = append(checked, fmt.Sprintf("consistency from size %d", old.size))
	}
	for i, e := range in.Events {
		if e.LeafIndex == nil {
			return "", fmt.Errorf("event %d (v%d) has no inclusion proof", i+1, e.Version)
		}
		data, err := leafData(e)
		if err != nil {
			return "", fmt.Errorf("event %d: %w", i+1, err)
		}
		proof, err := hashes(e.Proof)
		if err != nil {
			return "", fmt.Errorf("event %d: %w", i+1, err)
		}
		leaf := tlog.RecordHash(data)
		if err := tlog.CheckRecord(proof, cp.size, cp.root, *e.LeafIndex, leaf); err != nil {
			return "", fmt.Errorf("event %d (v%d at position %d): %w", i+1, e.Version,
				e.Position, err)
		}
	}
	if len(in.Events) > 0 {
		checked = append(checked, fmt.Sprintf("inclusion of %d events", len(in.Events)))
	}
	return fmt.Sprintf("OK origin=%s size=%d root=%s (%s)", cp.origin, cp.size,
		base64.StdEncoding.EncodeToString(cp.root[:]), strings.Join(checked, ", ")), nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goverify INPUT.json")
		os.Exit(2)
	}
	out, err := run(os.Args[1])
	if err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}
