// Command externaldns copies one file out of external-dns' Go module at a
// pinned version: `make tools` uses it for the DNSEndpoint CRD that the
// externaldns DNS provider's tests install in their hub.
//
// The module cannot be a dependency here: external-dns v0.23.0 declares
// go 1.27, so a go.mod requiring it fails to load on this project's Go
// 1.26. `go mod download` still fetches and verifies the module's zip
// against the checksum database before it refuses to extract it, so the
// file is read from that verified zip (or from the extracted directory,
// on a toolchain new enough to make one).
//
// Usage: go run . -version v0.23.0 -file config/crd/standard/x.yaml -out bin/crds/x.yaml
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

const module = "sigs.k8s.io/external-dns"

func main() {
	version := flag.String("version", "", "external-dns module version, e.g. v0.23.0")
	file := flag.String("file", "", "path of the file inside the module")
	out := flag.String("out", "", "where to write it")
	flag.Parse()
	if *version == "" || *file == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: externaldns -version VERSION -file PATH-IN-MODULE -out FILE")
		os.Exit(2)
	}
	if err := run(*version, *file, *out); err != nil {
		fmt.Fprintf(os.Stderr, "externaldns: %v\n", err)
		os.Exit(1)
	}
}

func run(version, file, out string) error {
	data, err := read(version, file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	// Written aside and renamed, so an interrupted run leaves no half file
	// that make would take as up to date.
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// download is the part of `go mod download -json`'s output used here.
type download struct {
	Dir, Zip, Error string
}

func read(version, file string) ([]byte, error) {
	mod := module + "@" + version
	// Outside any module, so that the download touches no go.mod or go.sum.
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run() // fails on go < 1.27 after the zip is in the cache; judged below
	var d download
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil {
		return nil, fmt.Errorf("go mod download %s: %w; %s", mod, errors.Join(runErr, err), stderr.Bytes())
	}
	if d.Dir != "" {
		if data, err := os.ReadFile(filepath.Join(d.Dir, file)); err == nil {
			return data, nil
		}
	}
	if d.Zip == "" {
		return nil, fmt.Errorf("go mod download %s fetched nothing: %s %s", mod, d.Error, stderr.Bytes())
	}
	zr, err := zip.OpenReader(d.Zip)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Zip, err)
	}
	defer zr.Close()
	f, err := zr.Open(mod + "/" + file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s has no file %s: did the file move in this version?", mod, file)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
