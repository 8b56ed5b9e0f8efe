package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
)

// Driver is the local provider behind providers.Provider. Every call takes
// the cluster's lock, reads its state file, starts or observes something,
// writes the state and returns: the slow parts (kwokctl create and start)
// run detached, and Observe tells when they are done. So any process, a
// short-lived function call included, may drive a cluster that another
// created, and ten calls at once for one cluster make one cluster. A call
// killed at any point (SIGKILL included) leaves work that the next call
// recognises and takes over: it adopts a kwokctl command or data plane left
// running unrecorded, and restarts one that died (ops.go).
//
// Observe also does, level-based, what a cloud's controllers would do once
// the cluster serves: it creates the spec's nodes (kwok then plays their
// kubelets). Nodes are created through the API rather than with `kwokctl
// scale node`, because they carry the pool's topology labels and capacity.
type Driver struct {
	p *Provider
	// crashAt, set only by tests (export_test.go), is called at each
	// point where a caller killed would leave work half done.
	crashAt func(point string)
}

func (d *Driver) crash(point string) {
	if d.crashAt != nil {
		d.crashAt(point)
	}
}

var _ providers.Provider = (*Driver)(nil)

// NewDriver drives the clusters of p's work directory.
func NewDriver(p *Provider) *Driver { return &Driver{p: p} }

// probeTimeout bounds one look at a cluster's apiserver in Observe: a call
// reports "not yet" rather than waiting.
const probeTimeout = 5 * time.Second

// Create starts creating c: it starts kwokctl detached and returns. A
// cluster that exists in any phase is success; one whose create or start a
// killed caller left half done is taken over (resumeOp).
func (d *Driver) Create(ctx context.Context, c providers.Cluster) error {
	spec, err := specFor(c)
	if err != nil {
		return err
	}
	s, unlock, err := d.lockState(ctx, spec.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if s != nil {
		return d.resume(ctx, s)
	}
	if _, err := os.Stat(d.p.clusterDir(spec.Name)); err == nil {
		return fmt.Errorf("create cluster %q: %s exists without a state file (made by Provider.Create?): delete it first", spec.Name, d.p.clusterDir(spec.Name))
	}
	if err := checkLimits(); err != nil {
		return fmt.Errorf("create cluster %q: %w", spec.Name, err)
	}
	// The intent before anything else: the state file is what owns the
	// address and ports allocated next (a holder whose state file is gone
	// loses them), and a caller killed from here on leaves a Creating
	// cluster that the next call carries on.
	s = &clusterState{Spec: spec, Phase: phaseCreating, Since: time.Now()}
	if err := d.p.writeState(s); err != nil {
		return fmt.Errorf("create cluster %q: %w", spec.Name, err)
	}
	return d.beginCreate(ctx, s)
}

// resume carries on the create or start of a cluster whose caller was
// killed (see resumeOp); for a cluster in any other phase it does nothing.
func (d *Driver) resume(ctx context.Context, s *clusterState) error {
	if s.Phase != phaseCreating && s.Phase != phaseStarting {
		return nil
	}
	_, _, err := d.resumeOp(ctx, s)
	return err
}

// Observe reports how far c has got. A cluster being created or started
// becomes Running once kwokctl has finished, the apiserver is ready, and
// every node of the spec exists and is Ready.
func (d *Driver) Observe(ctx context.Context, c providers.Cluster) (providers.State, error) {
	s, unlock, err := d.lockState(ctx, c.Name)
	if err != nil {
		return providers.State{}, err
	}
	defer unlock()
	if s == nil {
		return providers.State{}, nil
	}
	st := providers.State{Exists: true, Nodes: int32(s.Spec.nodeCount())}
	switch s.Phase {
	case phaseStopped:
		st.Progress = lifecycle.ProgressStopped
		return st, nil
	case phaseCreating, phaseStarting:
		st.Progress = lifecycle.ProgressCreating
		status, msg, err := d.resumeOp(ctx, s)
		if err != nil {
			return providers.State{}, err
		}
		switch status {
		case opRunning:
			st.Message = msg
			return st, nil
		case opFailed:
			st.Progress, st.Message = lifecycle.ProgressFailed, msg
			return st, nil
		}
	}
	cl, err := d.p.open(c.Name)
	if err != nil {
		return providers.State{}, err
	}
	if err := cl.componentsRunning(); err != nil {
		st.Progress = lifecycle.ProgressFailed
		st.Message = err.Error()
		return st, nil
	}
	nodes, err := serving(ctx, cl, &s.Spec)
	if err != nil {
		if s.Phase == phaseRunning {
			st.Progress = lifecycle.ProgressRunning
		} else {
			st.Progress = lifecycle.ProgressCreating
		}
		st.Message = err.Error()
		return st, nil
	}
	wasPhase, wasPID := s.Phase, s.DataPlanePID
	if err := d.ensureDataPlane(s); err != nil {
		st.Progress, st.Message = lifecycle.ProgressFailed, err.Error()
		return st, nil
	}
	if s.Phase != phaseRunning {
		d.p.log.Info("cluster running", "cluster", c.Name, "after", string(s.Phase), "elapsed", time.Since(s.Since).Round(time.Millisecond))
		s.Phase, s.OpPID, s.OpStart, s.Restarts, s.Since = phaseRunning, 0, 0, 0, time.Now()
	}
	if s.Phase != wasPhase || s.DataPlanePID != wasPID {
		if err := d.p.writeState(s); err != nil {
			return providers.State{}, err
		}
	}
	st.Progress, st.Nodes, st.KubeconfigReady = lifecycle.ProgressRunning, nodes, true
	if err := publishAddress(ctx, cl, s.Addr); err != nil {
		st.Message = err.Error()
	}
	return st, nil
}

// Kubeconfig returns the cluster's admin kubeconfig once it runs.
func (d *Driver) Kubeconfig(ctx context.Context, c providers.Cluster) ([]byte, error) {
	s, err := d.p.readState(c.Name)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Phase != phaseRunning {
		return nil, fmt.Errorf("kubeconfig of cluster %q: the cluster is not running", c.Name)
	}
	data, err := os.ReadFile(filepath.Join(d.p.clusterDir(c.Name), "kubeconfig.yaml"))
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of cluster %q: %w", c.Name, err)
	}
	return data, nil
}

// Park stops c's processes and keeps its data (mode Stop); it returns once
// no process of the cluster is left. Other modes are refused: the local
// provider cannot scale a cluster to zero nodes and keep it useful, and
// parking by deletion is the caller's Delete.
func (d *Driver) Park(ctx context.Context, c providers.Cluster, mode v1alpha1.ParkingMode) error {
	if mode != v1alpha1.ParkingStop {
		return fmt.Errorf("park cluster %q with mode %s: %w: the local provider parks with mode Stop (processes stopped, data kept)", c.Name, mode, providers.ErrUnsupported)
	}
	s, unlock, err := d.lockState(ctx, c.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if s == nil {
		return fmt.Errorf("park cluster %q: no such cluster in %s", c.Name, d.p.cfg.Workdir)
	}
	if s.Phase == phaseStopped {
		return nil
	}
	// A create or start under way would bring processes back.
	if err := d.endOp(s); err != nil {
		return fmt.Errorf("park cluster %q: %w", c.Name, err)
	}
	if err := d.stopDataPlane(s); err != nil {
		return fmt.Errorf("park cluster %q: %w", c.Name, err)
	}
	if err := d.p.Stop(ctx, c.Name); err != nil {
		return err
	}
	s.Phase, s.Restarts, s.Since = phaseStopped, 0, time.Now()
	return d.p.writeState(s)
}

// Unpark starts a parked c again, detached, and returns; Observe reports it
// Running once it serves. A cluster that runs or is on its way is success.
// Ports of the cluster that something else took while it was parked are
// chosen again (beginStart): a wake never depends on them staying free.
func (d *Driver) Unpark(ctx context.Context, c providers.Cluster) error {
	s, unlock, err := d.lockState(ctx, c.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if s == nil {
		return fmt.Errorf("unpark cluster %q: no such cluster in %s", c.Name, d.p.cfg.Workdir)
	}
	if s.Phase != phaseStopped {
		return d.resume(ctx, s)
	}
	if err := checkLimits(); err != nil {
		return fmt.Errorf("unpark cluster %q: %w", c.Name, err)
	}
	s.Restarts, s.Since = 0, time.Now()
	return d.beginStart(ctx, s)
}

// ScaleNodes sets c's worker count to n (1 to maxNodes) on a running
// cluster: it creates the missing nodes and deletes the highest-numbered
// extra ones.
func (d *Driver) ScaleNodes(ctx context.Context, c providers.Cluster, n int32) error {
	if n < 1 || n > maxNodes {
		return fmt.Errorf("scale cluster %q to %d nodes: use 1 to %d", c.Name, n, maxNodes)
	}
	s, unlock, err := d.lockState(ctx, c.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if s == nil || s.Phase != phaseRunning {
		return fmt.Errorf("scale cluster %q: the cluster is not running", c.Name)
	}
	cl, err := d.p.open(c.Name)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cl.RESTConfig)
	if err != nil {
		return fmt.Errorf("scale cluster %q: %w", c.Name, err)
	}
	s.Spec.Nodes = int(n)
	if err := createNodes(ctx, client, &s.Spec); err != nil {
		return fmt.Errorf("scale cluster %q: %w", c.Name, err)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("scale cluster %q: %w", c.Name, err)
	}
	for _, node := range nodes.Items {
		i, ok := nodeIndex(s.Spec.Name, node.Name)
		if !ok || i < int(n) {
			continue
		}
		if err := client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("scale cluster %q: delete node %s: %w", c.Name, node.Name, err)
		}
	}
	return d.p.writeState(s)
}

// Delete deletes c, its processes, data and state; a cluster that is gone
// is success.
func (d *Driver) Delete(ctx context.Context, c providers.Cluster) error {
	s, unlock, err := d.lockState(ctx, c.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if s != nil {
		// A create under way would rebuild what we delete.
		if err := d.endOp(s); err != nil {
			return fmt.Errorf("delete cluster %q: %w", c.Name, err)
		}
		if err := d.stopDataPlane(s); err != nil {
			return fmt.Errorf("delete cluster %q: %w", c.Name, err)
		}
	}
	if err := d.p.Delete(ctx, c.Name); err != nil {
		return err
	}
	if s != nil {
		if err := d.p.releaseAddr(ctx, s.Addr, d.p.statePath(c.Name)); err != nil {
			return err
		}
		if err := d.p.releasePorts(ctx, d.p.statePath(c.Name)); err != nil {
			return err
		}
	}
	if err := os.Remove(d.rcPath(c.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete cluster %q: %w", c.Name, err)
	}
	return d.p.removeState(c.Name)
}

// lockState takes the cluster's lock and reads its state (nil when it has
// none); the caller releases the lock with unlock.
func (d *Driver) lockState(ctx context.Context, name string) (s *clusterState, unlock func(), err error) {
	unlock, err = d.p.lockCluster(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if s, err = d.p.readState(name); err != nil {
		unlock()
		return nil, nil, err
	}
	return s, unlock, nil
}

// opExit returns the exit status of the cluster's last kwokctl command,
// and whether it has ended.
func (d *Driver) opExit(name string) (int, bool) {
	data, err := os.ReadFile(d.rcPath(name))
	if err != nil {
		return 0, false
	}
	rc, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return -1, true
	}
	return rc, true
}

func (d *Driver) rcPath(name string) string {
	return filepath.Join(d.p.cfg.Workdir, "state", name+".rc")
}

func (d *Driver) logPath(name string) string {
	return filepath.Join(d.p.cfg.Workdir, "logs", name+".kwokctl.log")
}

func (d *Driver) logTail(name string) string {
	data, _ := os.ReadFile(d.logPath(name))
	return lastLines(string(data), 8)
}

func opVerb(ph phase) string {
	if ph == phaseStarting {
		return "start"
	}
	return "create"
}

// serving checks once, within probeTimeout, that the cluster serves: the
// apiserver is ready, spec's nodes exist (creating the missing ones) and
// are Ready, and the default ServiceAccount exists. It returns the node
// count.
func serving(ctx context.Context, c *Cluster, spec *ClusterSpec) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	client, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	if err := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
		return 0, fmt.Errorf("apiserver not ready: %w", err)
	}
	if err := createNodes(ctx, client, spec); err != nil {
		return 0, err
	}
	if err := nodesReady(ctx, client); err != nil {
		return 0, err
	}
	if _, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return 0, fmt.Errorf("default ServiceAccount: %w", err)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, err
	}
	return int32(len(nodes.Items)), nil
}

// nodeIndex parses i from the name of node i of cluster (nodeFor).
func nodeIndex(cluster, node string) (int, bool) {
	rest, ok := strings.CutPrefix(node, cluster+"-node-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}

// specFor turns the fleet's view of a cluster into a local spec.
func specFor(c providers.Cluster) (ClusterSpec, error) {
	if c.Name == "" {
		return ClusterSpec{}, errors.New("local provider: a cluster name is required")
	}
	var r Resources
	for name, field := range map[corev1.ResourceName]*string{corev1.ResourceCPU: &r.CPU, corev1.ResourceMemory: &r.Memory, corev1.ResourcePods: &r.Pods} {
		if q, ok := c.NodeCapacity[name]; ok {
			*field = q.String()
		}
	}
	spec := ClusterSpec{Name: c.Name, Region: c.Region, Zone: c.Zone, Nodes: int(c.Nodes), NodeCapacity: r, NodeLabels: c.NodeLabels}
	if err := spec.validate(); err != nil {
		return ClusterSpec{}, fmt.Errorf("cluster %q: %w", c.Name, err)
	}
	return spec, nil
}

var _ providers.FnValuer = (*Driver)(nil)

// FnValues are charts/fn's values for a local cluster: the Service listens
// on the data plane's port (its load-balancer address is the data plane's,
// published by Observe), and the chart keeps no volume, since the data
// plane keeps its SQLite database in the cluster's work directory.
func (d *Driver) FnValues(providers.Cluster) map[string]any {
	return map[string]any{
		"persistence": map[string]any{"enabled": false},
		"service":     map[string]any{"type": "LoadBalancer", "port": FnPort},
	}
}
