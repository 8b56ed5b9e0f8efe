package local

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"sigs.k8s.io/yaml"
)

// kwokctl picks the ports of a new cluster by walking down from 32767 and
// taking the first that is free at that moment, so clusters created at the
// same time pick the same ports and all but one fail. We pick them instead,
// at random below the kernel's ephemeral range (where outgoing connections
// never take them), and check each is free.
const (
	portMin = 20000
	portMax = 32000
)

// clusterPorts are the TCP ports of one cluster's components.
type clusterPorts struct {
	EtcdPeerPort              uint32 `json:"etcdPeerPort"`
	EtcdPort                  uint32 `json:"etcdPort"`
	KubeApiserverPort         uint32 `json:"kubeApiserverPort"`
	KwokControllerPort        uint32 `json:"kwokControllerPort"`
	KubeControllerManagerPort uint32 `json:"kubeControllerManagerPort"`
	KubeSchedulerPort         uint32 `json:"kubeSchedulerPort"`
}

func pickPorts() (clusterPorts, error) {
	var ports []uint32
	for tries := 0; len(ports) < 6; tries++ {
		if tries == 1000 {
			return clusterPorts{}, fmt.Errorf("no free TCP ports found in %d-%d", portMin, portMax)
		}
		p := uint32(portMin + rand.IntN(portMax-portMin))
		if slices.Contains(ports, p) || !portFree(p) {
			continue
		}
		ports = append(ports, p)
	}
	return clusterPorts{ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]}, nil
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
