// Package agentsock holds both sides of the Fn socket handshake. Listen and
// Remove are the function's side, used by the FDK and by the benchmark
// baselines that stand in for it. Check is the agent's rule, used by
// everything in fnfleet that plays the agent (fdktest, the process host):
// lsnr.sock is a socket, or a symlink to a socket whose target is a bare
// name in the same directory.
package agentsock

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

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
