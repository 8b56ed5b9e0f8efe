package testbed

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// ProcessesNaming lists, as "PID: command line", the processes whose
// command line names dir or whose environment sets KWOK_WORKDIR (kwokctl
// commands) or FNFLEET_LOCAL_WORKDIR (the hub's functions in local mode) to
// it: what a test expects to find none of once a fleet or
// a cluster in dir is gone. It reads /proc itself rather than through the
// local provider, so that a test of the provider's stopping does not use
// the provider's own search to check it.
func ProcessesNaming(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	kvs := [][]byte{[]byte("KWOK_WORKDIR=" + dir), []byte("FNFLEET_LOCAL_WORKDIR=" + dir)}
	var left []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		environ, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		named := bytes.Contains(cmdline, []byte(dir))
		for entry := range bytes.SplitSeq(environ, []byte{0}) {
			for _, kv := range kvs {
				named = named || bytes.Equal(entry, kv)
			}
		}
		if named {
			left = append(left, e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return left
}
