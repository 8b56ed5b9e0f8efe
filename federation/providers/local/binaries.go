package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Binaries are the executables a local cluster is made of. All are real
// upstream programs, built from their Go modules by `make tools`: the
// Kubernetes components, kwok and etcd.
type Binaries struct {
	Kwokctl               string
	KwokController        string
	KubeApiserver         string
	KubeControllerManager string
	KubeScheduler         string
	Kubectl               string
	Etcd                  string
}

// FindBinaries returns the binaries in dir (as built by `make tools`), with
// etcd from $FNFLEET_ETCD when that is set. It fails, naming every missing
// file and the command that builds it, if anything is absent.
func FindBinaries(dir string) (Binaries, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Binaries{}, fmt.Errorf("resolve binaries directory %q: %w", dir, err)
	}
	etcd := os.Getenv("FNFLEET_ETCD")
	if etcd == "" {
		etcd = filepath.Join(abs, "etcd")
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
	for _, p := range []string{b.Kwokctl, b.KwokController, b.KubeApiserver, b.KubeControllerManager, b.KubeScheduler, b.Kubectl, b.Etcd} {
		if err := executable(p); err != nil {
			errs = append(errs, fmt.Errorf("%w (run `make tools` to build it)", err))
		}
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
