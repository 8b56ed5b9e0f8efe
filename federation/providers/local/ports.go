package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"sigs.k8s.io/yaml"
)

// kwokctl picks the ports of a new cluster by walking down from 32767 and
// taking the first that is free at that moment, so clusters created at the
// same time pick the same ports and all but one fail. We pick them instead,
// at random below the kernel's ephemeral range (where outgoing connections
// never take them), and check each is free.
//
// A parked cluster listens on nothing, so "free" alone would hand its ports
// to the next cluster created, and its wake would fail. So the Driver
// reserves a cluster's ports machine-wide for the cluster's whole life, as
// it does data plane addresses (addrs.go): one file per port in
// <AddrDir>/ports, holding the path of the state file of the cluster that
// has it; a port whose file names a state file that is gone is free again.
// No fnfleet cluster picks a reserved port. A process outside fnfleet may
// still take one; a start then picks that port again (reservePorts keeps
// the others) and rewrites what kwokctl saved (setClusterPorts).
const (
	portMin = 20000
	portMax = 32000
)

// clusterPorts are the TCP ports of one cluster's components. The JSON
// names are kwokctl's options of the same meaning.
type clusterPorts struct {
	EtcdPeerPort              uint32 `json:"etcdPeerPort"`
	EtcdPort                  uint32 `json:"etcdPort"`
	KubeApiserverPort         uint32 `json:"kubeApiserverPort"`
	KwokControllerPort        uint32 `json:"kwokControllerPort"`
	KubeControllerManagerPort uint32 `json:"kubeControllerManagerPort"`
	KubeSchedulerPort         uint32 `json:"kubeSchedulerPort"`
}

func (c *clusterPorts) fields() []*uint32 {
	return []*uint32{&c.EtcdPeerPort, &c.EtcdPort, &c.KubeApiserverPort, &c.KwokControllerPort, &c.KubeControllerManagerPort, &c.KubeSchedulerPort}
}

func (p *Provider) portDir() string { return filepath.Join(p.cfg.AddrDir, "ports") }

// pickPorts picks free ports that no cluster has reserved, and reserves
// nothing: for Provider.Create, whose clusters are not parked by the Driver.
func (p *Provider) pickPorts(ctx context.Context) (clusterPorts, error) {
	var ports clusterPorts
	err := p.withPortReservations(ctx, func(reserved map[uint32]string) error {
		return choosePorts(&ports, func(port uint32) bool { return reserved[port] == "" }, portMin, portMax)
	})
	if err != nil {
		return clusterPorts{}, fmt.Errorf("pick ports (reservations: %s): %w", p.portDir(), err)
	}
	return ports, nil
}

// reservePorts returns ports for the cluster whose state file is owner,
// reserved for it: each of have that is free and not another's, and new
// ones for the rest (all six for a new cluster). It releases the owner's
// other reservations, so a port it moved off, or one a killed caller
// reserved and never recorded, is not held forever.
func (p *Provider) reservePorts(ctx context.Context, owner string, have clusterPorts) (clusterPorts, error) {
	return p.reservePortsIn(ctx, owner, have, portMin, portMax)
}

func (p *Provider) reservePortsIn(ctx context.Context, owner string, have clusterPorts, lo, hi uint32) (clusterPorts, error) {
	ports := have
	err := p.withPortReservations(ctx, func(reserved map[uint32]string) error {
		usable := func(port uint32) bool { return reserved[port] == "" || reserved[port] == owner }
		if err := choosePorts(&ports, usable, lo, hi); err != nil {
			return err
		}
		for _, port := range ports.fields() {
			if reserved[*port] == owner {
				continue
			}
			if err := os.WriteFile(filepath.Join(p.portDir(), strconv.Itoa(int(*port))), []byte(owner), 0o666); err != nil {
				return err
			}
		}
		for port, holder := range reserved {
			if holder == owner && !slices.ContainsFunc(ports.fields(), func(f *uint32) bool { return *f == port }) {
				if err := os.Remove(filepath.Join(p.portDir(), strconv.Itoa(int(port)))); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return clusterPorts{}, fmt.Errorf("reserve ports (reservations: %s): %w", p.portDir(), err)
	}
	return ports, nil
}

// releasePorts frees every port reserved for owner.
func (p *Provider) releasePorts(ctx context.Context, owner string) error {
	err := p.withPortReservations(ctx, func(reserved map[uint32]string) error {
		for port, holder := range reserved {
			if holder != owner {
				continue
			}
			if err := os.Remove(filepath.Join(p.portDir(), strconv.Itoa(int(port)))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release ports of %s: %w", owner, err)
	}
	return nil
}

// withPortReservations runs f holding the reservations' lock, with the
// live reservations: port -> the state file of the cluster holding it.
func (p *Provider) withPortReservations(ctx context.Context, f func(reserved map[uint32]string) error) error {
	dir := p.portDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	reserved := map[uint32]string{}
	for _, e := range entries {
		port, err := strconv.ParseUint(e.Name(), 10, 16)
		if err != nil {
			continue // the lock
		}
		holder, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err == nil && stateExists(string(holder)) {
			reserved[uint32(port)] = string(holder)
		}
	}
	return f(reserved)
}

// choosePorts keeps each port of ports that is usable and free, and
// replaces the others (and zeros) with random ones in [lo, hi) that are,
// all six distinct.
func choosePorts(ports *clusterPorts, usable func(uint32) bool, lo, hi uint32) error {
	var chosen []uint32
	var missing []*uint32
	for _, f := range ports.fields() {
		if *f != 0 && !slices.Contains(chosen, *f) && usable(*f) && portFree(*f) {
			chosen = append(chosen, *f)
			continue
		}
		missing = append(missing, f)
	}
	for tries := 0; len(missing) > 0; tries++ {
		// 1000 tries: with 12000 candidates, each draw misses only when
		// the range is nearly full.
		if tries == 1000 {
			return fmt.Errorf("no free TCP ports found in %d-%d: see which processes listen there (ss -ltnp) and which clusters reserved them", lo, hi-1)
		}
		port := lo + uint32(rand.IntN(int(hi-lo)))
		if slices.Contains(chosen, port) || !usable(port) || !portFree(port) {
			continue
		}
		*missing[0] = port
		missing = missing[1:]
		chosen = append(chosen, port)
	}
	return nil
}

// portFree reports whether p can be bound on every interface, as the
// components bind it.
func portFree(p uint32) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(int(p)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// writeConfig writes a kwokctl configuration holding the cluster's ports and
// returns its path.
func (p *Provider) writeConfig(name string, ports clusterPorts) (string, error) {
	conf := map[string]any{
		"apiVersion": "config.kwok.x-k8s.io/v1alpha1",
		"kind":       "KwokctlConfiguration",
		"options":    ports,
	}
	data, err := yaml.Marshal(conf)
	if err != nil {
		return "", fmt.Errorf("encode kwokctl configuration: %w", err)
	}
	path := filepath.Join(p.cfg.Workdir, "logs", name+".kwokctl.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write kwokctl configuration: %w", err)
	}
	return path, nil
}

// kwokctl start reads what kwokctl create saved in the cluster's directory:
// kwok.yaml, whose KwokctlConfiguration document holds the options (ports
// among them) and every component's command line, with its ports; and the
// kubeconfig (kubeconfig.yaml, which the components use too), which names
// the apiserver's port. testdata/kwok.yaml is one, from kwokctl v0.8.0.
const kwokConfigName = "kwok.yaml"

var (
	yamlDocSeparator = regexp.MustCompile(`(?m)^---[ \t]*\n`)
	// A port in kwokctl's configuration follows a ':' (a URL, a host,
	// "--listen-client-urls=http://0.0.0.0:N") or a name ending in "port"
	// ("--secure-port=N", "port: N", "etcdPort: N"). A bare number is not
	// one: "kubeControllerManagerNodeMonitorPeriodMilliseconds: 25000"
	// lies in the range ports are drawn from.
	portInConfig     = regexp.MustCompile(`(:|[Pp]ort=|[Pp]ort:[ \t]*)([0-9]+)\b`)
	kubeconfigServer = regexp.MustCompile(`(?m)^(\s*server:\s*https?://[^\s/]+:)([0-9]+)`)
)

// setClusterPorts makes what kwokctl saved for the cluster name use want's
// ports, replacing in the KwokctlConfiguration document each port that
// moves (the options say which the document has). It is idempotent, so a
// caller killed half way leaves it to be done again, and replaces every
// file whole.
func (p *Provider) setClusterPorts(name string, want clusterPorts) error {
	dir := p.clusterDir(name)
	path := filepath.Join(dir, kwokConfigName)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read kwokctl's configuration: %w", err)
	}
	seps := yamlDocSeparator.FindAllIndex(data, -1)
	var out bytes.Buffer
	found := false
	from := 0
	for i := 0; i <= len(seps); i++ {
		end, next := len(data), len(data)
		if i < len(seps) {
			end, next = seps[i][0], seps[i][1]
		}
		doc := data[from:end]
		var head struct {
			Kind    string       `json:"kind"`
			Options clusterPorts `json:"options"`
		}
		if !found && yaml.Unmarshal(doc, &head) == nil && head.Kind == "KwokctlConfiguration" {
			found = true
			moves := map[string]string{}
			have := head.Options
			haveFields, wantFields := have.fields(), want.fields()
			for j := range haveFields {
				if *haveFields[j] != 0 && *haveFields[j] != *wantFields[j] {
					moves[strconv.Itoa(int(*haveFields[j]))] = strconv.Itoa(int(*wantFields[j]))
				}
			}
			doc = portInConfig.ReplaceAllFunc(doc, func(m []byte) []byte {
				sub := portInConfig.FindSubmatch(m)
				if to, ok := moves[string(sub[2])]; ok {
					return []byte(string(sub[1]) + to)
				}
				return m
			})
		}
		out.Write(doc)
		out.Write(data[end:next])
		from = next
	}
	if !found {
		return fmt.Errorf("no KwokctlConfiguration in %s: was the cluster made by another kwokctl version?", path)
	}
	if err := replaceFile(path, out.Bytes()); err != nil {
		return err
	}
	for _, kubeconfig := range []string{"kubeconfig.yaml", "kubeconfig"} {
		path := filepath.Join(dir, kubeconfig)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := replaceFile(path, kubeconfigServer.ReplaceAll(data, []byte("${1}"+strconv.Itoa(int(want.KubeApiserverPort))))); err != nil {
			return err
		}
	}
	return nil
}

// replaceFile replaces path with data unless it holds data already: write
// and rename, so that a reader or a crash never sees half of it.
func replaceFile(path string, data []byte) error {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, fi.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
