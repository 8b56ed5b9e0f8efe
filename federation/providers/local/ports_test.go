package local

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Reserved ports go to no other cluster while their holder's state file
// exists; a holder keeps its free ports, moves off taken ones, and gives
// back what it moved off.
func TestReservePorts(t *testing.T) {
	// 13 ports: two clusters' six and one spare, in a range that only this
	// test uses (above the clusters' 20000-31999).
	lo := uint32(0)
	for base := uint32(40000); base < 60000 && lo == 0; base += 100 {
		free := true
		for port := base; port < base+13 && free; port++ {
			free = portFree(port)
		}
		if free {
			lo = base
		}
	}
	if lo == 0 {
		t.Skip("no 13 consecutive free ports in 40000-60000")
	}
	hi := lo + 13
	ctx := context.Background()
	dir := t.TempDir()
	p := &Provider{cfg: Config{AddrDir: filepath.Join(dir, "addrs")}, log: slog.Default()}
	owner := func(name string) string {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a, b, c := owner("a"), owner("b"), owner("c")

	pa, err := p.reservePortsIn(ctx, a, clusterPorts{}, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := p.reservePortsIn(ctx, b, clusterPorts{}, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range pb.fields() {
		if slices.ContainsFunc(pa.fields(), func(f *uint32) bool { return *f == *port }) {
			t.Fatalf("cluster b got port %d, reserved for a: a %+v, b %+v", *port, pa, pb)
		}
	}
	if _, err := p.reservePortsIn(ctx, c, clusterPorts{}, lo, hi); err == nil {
		t.Fatalf("a third cluster got six ports of a 13-port range where 12 are reserved")
	}

	// An outside process takes one of a's ports: a keeps the five others
	// and moves to the one spare port; its old one is given back.
	l, err := net.Listen("tcp", ":"+strconv.Itoa(int(pa.KubeApiserverPort)))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := p.reservePortsIn(ctx, a, pa, lo, hi)
	_ = l.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := pa
	want.KubeApiserverPort = moved.KubeApiserverPort
	if moved == pa || moved != want {
		t.Errorf("after its apiserver port was taken a has %+v, want only the apiserver port moved from %+v", moved, pa)
	}
	if _, err := os.Stat(filepath.Join(p.portDir(), strconv.Itoa(int(pa.KubeApiserverPort)))); !os.IsNotExist(err) {
		t.Errorf("port %d that a moved off is still reserved (%v)", pa.KubeApiserverPort, err)
	}

	// Once b's state file is gone, its ports are free again.
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	if _, err := p.reservePortsIn(ctx, c, clusterPorts{}, lo, hi); err != nil {
		t.Errorf("ports of a cluster whose state is gone: %v", err)
	}
	if err := p.releasePorts(ctx, a); err != nil {
		t.Fatal(err)
	}
	if picked, err := p.pickPorts(ctx); err != nil || picked == (clusterPorts{}) {
		t.Errorf("pickPorts: %+v %v", picked, err)
	}
}

// setClusterPorts moves the ports in what kwokctl v0.8.0 saved (testdata,
// ports 23451-23456), and nothing else: the apiserver's old port is made
// 25000 here, the value of an option that is no port.
func TestSetClusterPorts(t *testing.T) {
	kwok, err := os.ReadFile("testdata/kwok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := os.ReadFile("testdata/kubeconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const period = "kubeControllerManagerNodeMonitorPeriodMilliseconds: 25000"
	if !strings.Contains(string(kwok), period) {
		t.Fatalf("testdata/kwok.yaml lacks %q", period)
	}
	kwok = []byte(strings.ReplaceAll(string(kwok), "23453", "25000"))
	kubeconfig = []byte(strings.ReplaceAll(string(kubeconfig), "23453", "25000"))
	p := &Provider{cfg: Config{Workdir: t.TempDir()}}
	dir := p.clusterDir("c1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{kwokConfigName: kwok, "kubeconfig.yaml": kubeconfig} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := clusterPorts{EtcdPeerPort: 23451, EtcdPort: 24452, KubeApiserverPort: 26000, KwokControllerPort: 23454, KubeControllerManagerPort: 23455, KubeSchedulerPort: 23456}
	for range 2 { // idempotent
		if err := p.setClusterPorts("c1", want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, kwokConfigName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{period, "--secure-port=26000", "host: 127.0.0.1:26000", "kubeApiserverPort: 26000",
		"--etcd-servers=http://127.0.0.1:24452", "--listen-client-urls=http://0.0.0.0:24452", "etcdPort: 24452",
		"--listen-peer-urls=http://0.0.0.0:23451", "--secure-port=23455"} {
		if !strings.Contains(string(got), s) {
			t.Errorf("kwok.yaml lacks %q", s)
		}
	}
	if n := strings.Count(string(got), "25000"); n != 1 {
		t.Errorf("25000 appears %d times in kwok.yaml, want once (the period, not the old port)", n)
	}
	if n := strings.Count(string(got), "23452"); n != 0 {
		t.Errorf("the old etcd port appears %d times in kwok.yaml", n)
	}
	// Everything but the moved ports is as kwokctl wrote it.
	restored := strings.NewReplacer("26000", "25000", "24452", "23452").Replace(string(got))
	if restored != string(kwok) {
		t.Errorf("kwok.yaml changed beyond its ports")
	}
	gotKubeconfig, err := os.ReadFile(filepath.Join(dir, "kubeconfig.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gotKubeconfig), "server: https://127.0.0.1:26000\n") {
		t.Errorf("kubeconfig does not name the apiserver's new port:\n%s", gotKubeconfig)
	}
}
