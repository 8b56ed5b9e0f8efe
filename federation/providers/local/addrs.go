package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// Every cluster's data plane listens on a loopback address of its own,
// 127.0.1.N:8080, which stays the cluster's while it exists, parked or
// not (its Fn Service publishes it and apps' endpoints name it). Addresses
// are handed out machine-wide, because test packages and fleets run at
// once on one machine, each with its own work directory: one file per
// address in addrDir, holding the path of the state file of the cluster
// that has it. An address whose file names a state file that is gone (a
// deleted cluster, a test's removed temporary directory) is free again.
const (
	// DefaultAddrDir is where addresses are allocated unless
	// Config.AddrDir says otherwise.
	DefaultAddrDir = "/tmp/fnfleet-addrs"
	// FnPort is the port of every data plane.
	FnPort = 8080
	// addrPrefix and addrLast: 127.0.1.1 to 127.0.1.254.
	addrPrefix = "127.0.1."
	addrLast   = 254
)

// allocateAddr returns an address for the cluster whose state file is
// owner, taking the same one again if it has one. It holds the directory's
// lock while it looks, so concurrent allocations never share an address.
func (p *Provider) allocateAddr(ctx context.Context, owner string) (string, error) {
	dir := p.cfg.AddrDir
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("allocate a data plane address: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return "", fmt.Errorf("allocate a data plane address: %w", err)
	}
	defer unlock()
	free := ""
	for n := 1; n <= addrLast; n++ {
		addr := addrPrefix + strconv.Itoa(n)
		holder, err := os.ReadFile(filepath.Join(dir, addr))
		switch {
		case err == nil && string(holder) == owner:
			return addr, nil
		case err == nil && stateExists(string(holder)):
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("allocate a data plane address: %w", err)
		}
		// Someone outside this scheme (localmode's fixed addresses, say)
		// may listen there.
		if free == "" && bindable(addr) {
			free = addr
		}
	}
	if free == "" {
		return "", fmt.Errorf("allocate a data plane address: all of %s1-%d are taken (see %s)", addrPrefix, addrLast, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, free), []byte(owner), 0o666); err != nil {
		return "", fmt.Errorf("allocate a data plane address: %w", err)
	}
	return free, nil
}

// releaseAddr frees addr if owner holds it.
func (p *Provider) releaseAddr(ctx context.Context, addr, owner string) error {
	if addr == "" {
		return nil
	}
	unlock, err := lockFile(ctx, filepath.Join(p.cfg.AddrDir, ".lock"))
	if err != nil {
		return fmt.Errorf("release address %s: %w", addr, err)
	}
	defer unlock()
	path := filepath.Join(p.cfg.AddrDir, addr)
	if holder, err := os.ReadFile(path); err != nil || !bytes.Equal(holder, []byte(owner)) {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("release address %s: %w", addr, err)
	}
	return nil
}

func stateExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func bindable(addr string) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(FnPort)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
