package fdk

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// listen performs the Fn socket handshake: remove stale files, listen on
// the phony socket, make it world-writable (the agent may run as another
// user), then publish it under the name the agent waits for through a
// relative symlink, so the path also resolves inside the agent's mount.
func listen(p socketPaths) (*net.UnixListener, error) {
	for _, name := range []string{p.link, p.phony} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fdk: removing stale %s: %w", name, err)
		}
	}
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: p.phony, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("fdk: listening on %s (does the directory %s exist and is it writable?): %w", p.phony, p.dir, err)
	}
	if err := os.Chmod(p.phony, 0o666); err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("fdk: making %s world-writable: %w", p.phony, err)
	}
	if err := os.Symlink(filepath.Base(p.phony), p.link); err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("fdk: linking %s to %s: %w", p.link, filepath.Base(p.phony), err)
	}
	return lis, nil
}

// removeSocket removes the symlink and the socket; missing files are fine.
func removeSocket(p socketPaths) error {
	var errs []error
	for _, name := range []string{p.link, p.phony} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("fdk: removing %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
