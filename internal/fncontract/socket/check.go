// Package socket is both sides of the Fn socket handshake. Listen and
// Remove are the function's side, used by the FDK and by the benchmark
// baselines that stand in for it. Check is the agent's rule, used by
// everything in fnfleet that plays the agent (fdktest, the process-based Fn
// server): lsnr.sock is a socket, or a symlink to a socket whose target is
// a bare name in the same directory. CheckPath is the limit both sides
// share. The package does not import net/http, so that the handshake alone
// stays as cheap to start as a Go program can be.
package socket

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ListenerName is the name of the listener in a container's socket
// directory: FN_LISTENER is unix:<dir>/lsnr.sock.
const ListenerName = "lsnr.sock"

// maxPathLen is the longest path a unix socket address can hold on Linux:
// sun_path is 108 bytes including the terminating NUL.
const maxPathLen = 107

// CheckPath reports an error when the listener path link, or the phony
// socket beside it (5 bytes longer), is too long for a unix socket.
func CheckPath(link string) error {
	for _, p := range []string{link, PhonyPath(link)} {
		if len(p) > maxPathLen {
			return fmt.Errorf("socket path %q is %d bytes, but a unix socket path holds at most %d", p, len(p), maxPathLen)
		}
	}
	return nil
}

// Check reports why the agent would reject the listener at path, or nil.
func Check(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("stat listener: %w", err)
	}
	target := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = os.Readlink(path); err != nil {
			return fmt.Errorf("read listener symlink %s: %w", path, err)
		}
		if strings.ContainsRune(target, '/') {
			return fmt.Errorf("symlink %s -> %q has a directory part; the agent wants a name in the same directory", path, target)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("listener %s -> %q does not resolve: %w", path, target, err)
	}
	if st.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("listener %s -> %q is not a socket (mode %v)", path, target, st.Mode())
	}
	return nil
}
