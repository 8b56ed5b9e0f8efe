package agentsock_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fnfleet/fnfleet/fdk/internal/agentsock"
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
		err := agentsock.Check(filepath.Join(dir, name))
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: err = %v, want %q", name, err, wantErr)
		}
	}
}
