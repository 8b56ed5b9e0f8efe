package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Binaries are the executables a local cluster is made of. All are real
// upstream programs: the Kubernetes components and kwok are built from their
// Go modules by `make tools`; etcd comes from Debian's etcd-server package.
type Binaries struct {
	Kwokctl               string
	KwokController        string
	KubeApiserver         string
	KubeControllerManager string
	KubeScheduler         string
	Kubectl               string
	Etcd                  string
}

// DefaultEtcd is where Debian's etcd-server package installs etcd.
const DefaultEtcd = "/usr/bin/etcd"

// FindBinaries returns the binaries in dir (as built by `make tools`), with
// etcd from $FNFLEET_ETCD or Debian's path. It fails, naming every missing
// file and the command that builds it, if anything is absent.
func FindBinaries(dir string) (Binaries, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Binaries{}, fmt.Errorf("resolve binaries directory %q: %w", dir, err)
	}
	etcd := os.Getenv("FNFLEET_ETCD")
	if etcd == "" {
		etcd = DefaultEtcd
	}
	b := Binaries{
		Kwokctl:               filepath.Join(abs, "kwokctl"),
		KwokController:        filepath.Join(abs, "kwok"),
		KubeApiserver:         filepath.Join(abs, "kube-apiserver"),
		KubeControllerManager: filepath.Join(abs, "kube-controller-manager"),
		KubeScheduler:         filepath.Join(abs, "kube-scheduler"),
		Kubectl:               filepath.Join(abs, "kubectl"),
		Etcd:                  etcd,
	}
	return b, b.check()
}

func (b Binaries) check() error {
	var errs []error
	for _, p := range []string{b.Kwokctl, b.KwokController, b.KubeApiserver, b.KubeControllerManager, b.KubeScheduler, b.Kubectl} {
		if err := executable(p); err != nil {
			errs = append(errs, fmt.Errorf("%w (run `make tools` to build it)", err))
		}
	}
	if err := executable(b.Etcd); err != nil {
		errs = append(errs, fmt.Errorf("%w (install Debian's etcd-server: `apt-get install -y etcd-server`, or set FNFLEET_ETCD)", err))
	}
	return errors.Join(errs...)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("missing binary %s", path)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
