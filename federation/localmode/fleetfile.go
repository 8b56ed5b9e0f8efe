package localmode

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FleetFileName is the name of the fleet file in a local fleet's workdir.
const FleetFileName = "fleet.json"

// FleetFile is what a running local fleet tells other programs about itself
// (scripts, tests, a second terminal): where the hub is, where its Fn and
// the events trigger answer, the fleet's processes, and where each
// member's Fn API answers. It is rewritten as members change and as
// processes are restarted.
type FleetFile struct {
	// Hub is the hub cluster.
	Hub FleetHub `json:"hub"`
	// FnAPI is the base URL of the hub's Fn API, where the management
	// functions run as app fnfleet (FN_API_URL for the fn CLI).
	FnAPI string `json:"fnAPI,omitempty"`
	// EventsURL is the events function's trigger: where `fnfleet events
	// send` sends.
	EventsURL string `json:"eventsURL,omitempty"`
	// SecretFile is the file (mode 0600) holding the secret events are
	// signed with.
	SecretFile string `json:"secretFile,omitempty"`
	// DNS is the fleet's DNS server, where the apps' names answer.
	DNS *FleetDNS `json:"dns,omitempty"`
	// PIDs are the fleet's own processes now running.
	PIDs FleetPIDs `json:"pids,omitzero"`
	// Members are the member clusters, by name.
	Members []FleetMember `json:"members"`
}

// FleetPIDs are the pids of a local fleet's supervised processes, each
// rewritten when its process is restarted.
type FleetPIDs struct {
	// HubFn is the hub's Fn server (`fnfleet fn-server`); the functions
	// are its children.
	HubFn int `json:"hubFn,omitempty"`
	// Scheduler is `fnfleet scheduler`.
	Scheduler int `json:"scheduler,omitempty"`
	// EventSource is `fnfleet event-source`.
	EventSource int `json:"eventSource,omitempty"`
	// DNS is CoreDNS, serving the fleet's zone; DNSEtcd the etcd it
	// reads the records from.
	DNS     int `json:"dns,omitempty"`
	DNSEtcd int `json:"dnsEtcd,omitempty"`
}

// FleetHub is the hub cluster in the fleet file.
type FleetHub struct {
	// Kubeconfig is the path of an admin kubeconfig of the hub.
	Kubeconfig string `json:"kubeconfig"`
}

// FleetMember is one member cluster in the fleet file.
type FleetMember struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	// Phase is the MemberCluster's status.phase (Ready, Parked...).
	Phase string `json:"phase,omitempty"`
	// Pool is the ClusterPool it was created from, if any.
	Pool string `json:"pool,omitempty"`
	// FnURL is the base URL of its Fn API; empty until Fn answers there.
	FnURL string `json:"fnURL,omitempty"`
	// Kubeconfig is the path of an admin kubeconfig of the member, once
	// it has one.
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// Write writes f to path atomically: a reader sees the old file or the new
// one, never a part (a temporary file in the same directory, synced, then
// renamed over path). Members are written sorted by name, so an unchanged
// fleet writes the same bytes.
func (f FleetFile) Write(path string) error {
	f.Members = slices.Clone(f.Members)
	slices.SortFunc(f.Members, func(a, b FleetMember) int { return strings.Compare(a.Name, b.Name) })
	if f.Members == nil {
		f.Members = []FleetMember{}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("fleet file: %w", err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("fleet file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("fleet file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("fleet file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fleet file %s: %w", tmp.Name(), err)
	}
	// CreateTemp makes the file 0600; the fleet file names paths only, so
	// others on the machine may read it as they may read the workdir.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("fleet file %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("fleet file: %w", err)
	}
	return nil
}

// ReadFleetFile reads the fleet file at path.
func ReadFleetFile(path string) (FleetFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return FleetFile{}, fmt.Errorf("fleet file: %w", err)
	}
	var f FleetFile
	if err := json.Unmarshal(data, &f); err != nil {
		return FleetFile{}, fmt.Errorf("fleet file %s: %w", path, err)
	}
	return f, nil
}
