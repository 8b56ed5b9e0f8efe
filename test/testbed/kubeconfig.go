package testbed

import (
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/fnfleet/fnfleet/federation/providers/local"
)

// Kubeconfig returns c's admin kubeconfig as one self-contained document,
// its certificates inlined, as a kubeconfig Secret holds it (kwokctl's file
// points at certificate files in the cluster's directory).
func Kubeconfig(t testing.TB, c *local.Cluster) []byte {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(c.KubeconfigPath)
	if err != nil {
		t.Fatalf("testbed: load kubeconfig of %s: %v", c.Name, err)
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		t.Fatalf("testbed: inline the certificates of %s's kubeconfig: %v", c.Name, err)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatalf("testbed: encode kubeconfig of %s: %v", c.Name, err)
	}
	return data
}
