package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// kwokNodeAnnotation marks a node as kwok's to play: kwok keeps its status
// Ready and runs the pods bound to it (without containers).
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

const pollInterval = 100 * time.Millisecond

// waitReady waits until the cluster serves, creating spec's nodes first when
// spec is given (a new cluster), and until every node is Ready and the
// default ServiceAccount exists (pods cannot be created before it does).
func (p *Provider) waitReady(ctx context.Context, c *Cluster, spec *ClusterSpec) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ReadyTimeout)
	defer cancel()
	client, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	var last error
	start := time.Now()
	poll := func(step string, cond func(ctx context.Context) error) error {
		defer func() {
			p.log.Debug("waited", "cluster", c.Name, "for", step, "elapsed", time.Since(start).Round(time.Millisecond))
		}()
		err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
			// A component that died (a port taken, say) never comes
			// back by itself: fail now rather than at the timeout.
			if err := c.componentsRunning(); err != nil {
				return false, err
			}
			last = cond(ctx)
			return last == nil, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", step, errors.Join(err, last))
		}
		return nil
	}
	if err := poll("the apiserver to be ready", func(ctx context.Context) error {
		return client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}); err != nil {
		return err
	}
	if spec != nil {
		if err := createNodes(ctx, client, spec); err != nil {
			return err
		}
	}
	if err := poll("nodes to be Ready", func(ctx context.Context) error {
		return nodesReady(ctx, client)
	}); err != nil {
		return err
	}
	return poll("the default ServiceAccount", func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// Components names the processes every running local cluster has.
func Components() []string {
	return []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}
}

func (c *Cluster) componentsRunning() error {
	procs, err := c.Processes()
	if err != nil {
		return err
	}
	var missing []error
	for _, name := range Components() {
		if !slices.ContainsFunc(procs, func(p Process) bool { return p.Name == name }) {
			missing = append(missing, fmt.Errorf("%s is not running (its log: %s)", name, filepath.Join(c.Workdir, "logs", name+".log")))
		}
	}
	return errors.Join(missing...)
}

func createNodes(ctx context.Context, client kubernetes.Interface, spec *ClusterSpec) error {
	capacity, err := spec.NodeCapacity.list()
	if err != nil {
		return err
	}
	for i := range spec.nodeCount() {
		node := nodeFor(spec, i, capacity)
		_, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", node.Name, err)
		}
	}
	return nil
}

// nodeFor builds node i of a cluster: the labels a real node has, the spec's
// topology and labels, and the declared capacity as both capacity and
// allocatable.
func nodeFor(spec *ClusterSpec, i int, capacity corev1.ResourceList) *corev1.Node {
	name := spec.Name + "-node-" + strconv.Itoa(i)
	labels := map[string]string{
		corev1.LabelHostname:   name,
		corev1.LabelOSStable:   "linux",
		corev1.LabelArchStable: "amd64",
		"type":                 "kwok",
	}
	if spec.Region != "" {
		labels[corev1.LabelTopologyRegion] = spec.Region
	}
	if spec.Zone != "" {
		labels[corev1.LabelTopologyZone] = spec.Zone
	}
	for k, v := range spec.NodeLabels {
		labels[k] = v
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      labels,
			Annotations: map[string]string{kwokNodeAnnotation: "fake"},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity.DeepCopy(),
			Allocatable: capacity.DeepCopy(),
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    "amd64",
				OperatingSystem: "linux",
				KubeletVersion:  "fake",
			},
			Phase: corev1.NodeRunning,
		},
	}
}

func nodesReady(ctx context.Context, client kubernetes.Interface) error {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(nodes.Items) == 0 {
		return errors.New("no nodes yet")
	}
	for _, n := range nodes.Items {
		if !isReady(&n) {
			return fmt.Errorf("node %s not Ready", n.Name)
		}
	}
	return nil
}

func isReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
