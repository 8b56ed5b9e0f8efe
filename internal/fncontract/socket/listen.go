package socket

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// PhonyPath is where the function's real socket lives for the listener
// path link: "phony" plus link's name, in the same directory.
func PhonyPath(link string) string {
	dir, base := filepath.Split(link)
	return filepath.Join(dir, "phony"+base)
}

// Listen performs the function's side of the handshake for the listener
// path link: remove stale files, listen on the phony socket, make it
// world-writable (the agent may run as another user), then publish it
// under link through a relative symlink, so that the path also resolves
// inside the agent's mount. The agent reacts to link appearing, so it is
// created last.
func Listen(link string) (*net.UnixListener, error) {
	phony := PhonyPath(link)
	if err := Remove(link); err != nil {
		return nil, fmt.Errorf("removing stale files: %w", err)
	}
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: phony, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s (does the directory %s exist and is it writable?): %w", phony, filepath.Dir(phony), err)
	}
	if err := os.Chmod(phony, 0o666); err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("making %s world-writable: %w", phony, err)
	}
	if err := os.Symlink(filepath.Base(phony), link); err != nil {
		_ = lis.Close()
		return nil, fmt.Errorf("linking %s to %s: %w", link, filepath.Base(phony), err)
	}
	return lis, nil
}

// Remove removes the listener symlink and the phony socket; missing files
// are fine.
func Remove(link string) error {
	var errs []error
	for _, name := range []string{link, PhonyPath(link)} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
