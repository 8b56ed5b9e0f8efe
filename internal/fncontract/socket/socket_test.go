package socket_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/internal/fncontract/socket"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "phonylsnr.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("phonylsnr.sock", filepath.Join(dir, "relative")))
	must(os.Symlink("sub/phonylsnr.sock", filepath.Join(dir, "subdir")))
	must(os.Symlink(filepath.Join(dir, "phonylsnr.sock"), filepath.Join(dir, "absolute")))
	must(os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))

	for name, wantErr := range map[string]string{
		"phonylsnr.sock": "",
		"relative":       "",
		"subdir":         "has a directory part",
		"absolute":       "has a directory part",
		"file":           "is not a socket",
	} {
		err := socket.Check(filepath.Join(dir, name))
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: err = %v, want %q", name, err, wantErr)
		}
	}
}

func TestListenAndRemove(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "lsnr.sock")
	// Stale files from an earlier process: a dangling link and a plain file
	// where the socket goes.
	if err := os.Symlink("gone", link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(socket.PhonyPath(link), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	lis, err := socket.Listen(link)
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	if err := socket.Check(link); err != nil {
		t.Errorf("the agent would reject the listener: %v", err)
	}
	if target, err := os.Readlink(link); err != nil || target != "phonylsnr.sock" {
		t.Errorf("lsnr.sock -> %q (%v), want the relative name phonylsnr.sock", target, err)
	}
	if fi, err := os.Stat(socket.PhonyPath(link)); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode %v (%v), want 0666", fi.Mode().Perm(), err)
	}
	for range 2 { // the second Remove finds nothing, which is fine
		if err := socket.Remove(link); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestListenInMissingDirectory(t *testing.T) {
	_, err := socket.Listen(filepath.Join(t.TempDir(), "nope", "lsnr.sock"))
	if err == nil || !strings.Contains(err.Error(), "does the directory") {
		t.Fatalf("err = %v, want one asking whether the directory exists", err)
	}
}

// The phony socket's path is 5 bytes longer than the listener's, so a
// listener path that fits can still leave no room for the socket.
func TestCheckPath(t *testing.T) {
	const maxPathLen = 107 // sun_path's 108 bytes, less the NUL
	dir := "/" + strings.Repeat("d", maxPathLen-len("/phony"+socket.ListenerName)-1)
	fits := dir + "/" + socket.ListenerName // phony path exactly 107 bytes
	if err := socket.CheckPath(fits); err != nil {
		t.Errorf("CheckPath(%d-byte listener, %d-byte socket) = %v", len(fits), len(socket.PhonyPath(fits)), err)
	}
	tooLong := dir + "d/" + socket.ListenerName // listener fits, phony does not
	err := socket.CheckPath(tooLong)
	if len(tooLong) > maxPathLen || err == nil || !strings.Contains(err.Error(), "holds at most 107") {
		t.Errorf("CheckPath(%d-byte listener, %d-byte socket) = %v, want the phony path refused", len(tooLong), len(socket.PhonyPath(tooLong)), err)
	}
}
