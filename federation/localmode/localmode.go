// Package localmode wires the whole of fnfleet on one machine, with no
// container engine; it is what `fnfleet up` runs. It starts a hub cluster
// holding the fnfleet API and member clusters from the local provider,
// installs Fn on every member with the installer and, because kwok runs no
// containers, runs a real process-based Fn server per member as its data
// plane. Each data plane listens on a loopback address of its own
// (127.0.1.N), which the member's Fn Service publishes as its load balancer
// address, so calls really reach a function "in" that cluster. Apps are
// placed and deployed by the same shell the placement function wraps
// (control.Placement).
package localmode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/api/v1alpha1"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/fndeploy"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/fnserver"
	"github.com/fnfleet/fnfleet/installer"
)

// fnPort is the port of every member's data plane.
const fnPort = 8080

// Config configures a local fleet.
type Config struct {
	// Binaries are the cluster binaries (see local.FindBinaries).
	Binaries local.Binaries
	// Workdir holds clusters, data planes and logs; it must be empty or
	// absent.
	Workdir string
	// Members are the member clusters to run, at most 250.
	Members []MemberSpec
	// Images maps Fn image names to local executables for the data planes.
	Images map[string]string
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// MemberSpec declares one member cluster.
type MemberSpec struct {
	Name        string
	Region      string
	Tier        int32
	CostPerHour string // a decimal, e.g. "0.40"
}

// Fleet is a running local fleet.
type Fleet struct {
	Hub     *local.Cluster
	Members []*Member

	provider  *local.Provider
	hub       *hub.Client
	placement *control.Placement
	log       *slog.Logger
}

// Member is a running member cluster and its data plane.
type Member struct {
	Spec    MemberSpec
	Cluster *local.Cluster
	// Addr is the loopback address its Fn server listens on.
	Addr string
	// FnURL is the base URL of its Fn API.
	FnURL string
	// Install is what the installer did on the cluster.
	Install installer.Result

	fn     *fnserver.Server
	stop   context.CancelFunc // ends Serve
	served chan error         // Serve's result
}

// Up starts the fleet; on failure whatever was started is torn down.
func Up(ctx context.Context, cfg Config) (f *Fleet, err error) {
	if len(cfg.Members) == 0 || len(cfg.Members) > 250 {
		return nil, fmt.Errorf("local fleet: %d members: use 1 to 250", len(cfg.Members))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	p, err := local.New(local.Config{Binaries: cfg.Binaries, Workdir: cfg.Workdir, OwnerPID: os.Getpid(), Logger: log})
	if err != nil {
		return nil, err
	}
	f = &Fleet{provider: p, log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, f.Close())
		}
	}()

	specs := []local.ClusterSpec{{Name: "hub", Region: cfg.Members[0].Region, NodeLabels: map[string]string{"fnfleet.dev/role": "hub"}}}
	for _, m := range cfg.Members {
		specs = append(specs, local.ClusterSpec{
			Name: m.Name, Region: m.Region, Zone: m.Region + "-a", Nodes: 3,
			NodeCapacity: local.Resources{CPU: "16", Memory: "64Gi", Pods: "110"},
			NodeLabels:   map[string]string{"fnfleet.dev/role": "member"},
		})
	}
	clusters, err := p.CreateAll(ctx, specs)
	if err != nil {
		return nil, err
	}
	f.Hub = clusters[0]
	if f.hub, err = hub.New(f.Hub.RESTConfig); err != nil {
		return nil, err
	}
	if f.placement, err = control.NewPlacement(control.PlacementConfig{Hub: f.hub, Deployer: fndeploy.Deployer{}, Logger: log}); err != nil {
		return nil, err
	}
	for i, m := range cfg.Members {
		addr := fmt.Sprintf("127.0.1.%d", i+1)
		f.Members = append(f.Members, &Member{
			Spec: m, Cluster: clusters[i+1], Addr: addr,
			FnURL: fmt.Sprintf("http://%s:%d", addr, fnPort),
		})
	}

	// The hub's API and every member's Fn install and data plane are
	// independent: do them at once.
	errs := make([]error, len(f.Members)+1)
	var wg sync.WaitGroup
	wg.Go(func() {
		log.Info("installing the fnfleet API in the hub")
		errs[0] = hub.InstallCRDs(ctx, f.Hub.RESTConfig)
	})
	in := installer.New(log)
	for i, m := range f.Members {
		wg.Go(func() { errs[i+1] = f.startMember(ctx, in, m, cfg) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := f.register(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// startMember installs Fn on the member with the installer, starts its data
// plane and publishes the data plane's address on the Fn Service.
func (f *Fleet) startMember(ctx context.Context, in *installer.Installer, m *Member, cfg Config) error {
	dataDir := filepath.Join(cfg.Workdir, "fn", m.Spec.Name)
	srv, err := fnserver.New(ctx, fnserver.Config{
		DataDir:   dataDir,
		Images:    cfg.Images,
		PublicURL: m.FnURL,
		Logger:    f.log.With("fn-server", m.Spec.Name),
	})
	if err != nil {
		return fmt.Errorf("member %s: %w", m.Spec.Name, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.Addr, fmt.Sprint(fnPort)))
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("member %s: data plane: %w", m.Spec.Name, err)
	}
	// The data plane lives until Close, not until ctx ends.
	serveCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.fn, m.stop, m.served = srv, stop, make(chan error, 1)
	go func() { m.served <- srv.Serve(serveCtx, ln) }()

	f.log.Info("installing Fn", "cluster", m.Spec.Name)
	// Helm waits for a LoadBalancer Service to get an address, so the
	// address must be published while the install runs.
	lbCtx, stopLB := context.WithCancel(ctx)
	lbDone := make(chan error, 1)
	go func() { lbDone <- publishAddress(lbCtx, m) }()
	m.Install, err = in.Apply(ctx, installer.Target{RESTConfig: m.Cluster.RESTConfig}, installer.Release{
		Values: map[string]any{
			// The data plane keeps its own SQLite database on this machine.
			"persistence": map[string]any{"enabled": false},
			"service":     map[string]any{"type": "LoadBalancer", "port": fnPort, "loadBalancerIP": m.Addr},
			"publicURL":   m.FnURL,
		},
	})
	stopLB()
	lbErr := <-lbDone
	if err != nil {
		return fmt.Errorf("member %s: install Fn: %w", m.Spec.Name, err)
	}
	return lbErr
}

// publishAddress plays the cloud's load-balancer controller, which a kwok
// cluster lacks: it waits for the Fn release's LoadBalancer Service and
// writes the data plane's address into its status.
func publishAddress(ctx context.Context, m *Member) error {
	client, err := kubernetes.NewForConfig(m.Cluster.RESTConfig)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=fn"})
		if err != nil {
			last = err
			return false, nil
		}
		for i := range svcs.Items {
			svc := &svcs.Items[i]
			if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
				continue
			}
			svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: m.Addr}}
			if _, err := client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
				last = err // a conflict: read again
				return false, nil
			}
			return true, nil
		}
		last = errors.New("no LoadBalancer service yet")
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("member %s: publish the data plane address: %w", m.Spec.Name, errors.Join(err, last))
	}
	return nil
}

// register records every member as a MemberCluster in the hub, with the
// capacity its nodes declare and its Fn endpoint.
func (f *Fleet) register(ctx context.Context) error {
	for _, m := range f.Members {
		cost, err := resource.ParseQuantity(m.Spec.CostPerHour)
		if err != nil {
			return fmt.Errorf("member %s: cost per hour %q: %w", m.Spec.Name, m.Spec.CostPerHour, err)
		}
		mc, err := f.hub.CreateMemberCluster(ctx, &v1alpha1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: m.Spec.Name, Labels: map[string]string{"env": "local"}},
			Spec: v1alpha1.MemberClusterSpec{
				Provider:    v1alpha1.ProviderSpec{Name: "local"},
				Region:      m.Spec.Region,
				Zone:        m.Spec.Region + "-a",
				Tier:        m.Spec.Tier,
				CostPerHour: &cost,
			},
		})
		if err != nil {
			return err
		}
		if mc.Status, err = observe(ctx, m); err != nil {
			return err
		}
		mc.Status.ObservedGeneration = mc.Generation
		if _, err := f.hub.UpdateMemberClusterStatus(ctx, mc); err != nil {
			return err
		}
	}
	return nil
}

// observe reads a member's capacity and use from its nodes and pods.
func observe(ctx context.Context, m *Member) (v1alpha1.MemberClusterStatus, error) {
	client, err := kubernetes.NewForConfig(m.Cluster.RESTConfig)
	if err != nil {
		return v1alpha1.MemberClusterStatus{}, err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return v1alpha1.MemberClusterStatus{}, fmt.Errorf("member %s: list nodes: %w", m.Spec.Name, err)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return v1alpha1.MemberClusterStatus{}, fmt.Errorf("member %s: list pods: %w", m.Spec.Name, err)
	}
	capacity, allocatable := corev1.ResourceList{}, corev1.ResourceList{}
	for _, n := range nodes.Items {
		add(capacity, n.Status.Capacity)
		add(allocatable, n.Status.Allocatable)
	}
	used := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(len(pods.Items)), resource.DecimalSI)}
	for _, p := range pods.Items {
		for _, c := range p.Spec.Containers {
			add(used, corev1.ResourceList{corev1.ResourceCPU: c.Resources.Requests[corev1.ResourceCPU], corev1.ResourceMemory: c.Resources.Requests[corev1.ResourceMemory]})
		}
	}
	available := corev1.ResourceList{}
	for name, q := range allocatable {
		free := q.DeepCopy()
		u := used[name]
		free.Sub(u)
		available[name] = free
	}
	now := metav1.NewTime(time.Now())
	return v1alpha1.MemberClusterStatus{
		Phase:       v1alpha1.PhaseReady,
		Capacity:    capacity,
		Allocatable: allocatable,
		Used:        used,
		Available:   available,
		FnEndpoint:  m.FnURL,
		Ingress:     []v1alpha1.IngressAddress{{IP: m.Addr}},
		Conditions: []metav1.Condition{{
			Type: v1alpha1.ClusterHealthy, Status: metav1.ConditionTrue, Reason: "FnInstalled",
			Message:            fmt.Sprintf("Fn release %s revision %d is ready", m.Install.Release, m.Install.Revision),
			LastTransitionTime: now,
		}},
		LastHeartbeatTime: &now,
	}, nil
}

func add(sum, more corev1.ResourceList) {
	for name, q := range more {
		total := sum[name]
		total.Add(q)
		sum[name] = total
	}
}

// Close stops the data planes and deletes every cluster.
func (f *Fleet) Close() error {
	var errs []error
	for _, m := range f.Members {
		if m.fn != nil {
			m.stop()
			errs = append(errs, <-m.served, m.fn.Close())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs = append(errs, f.provider.DeleteAll(ctx), f.provider.Close())
	return errors.Join(errs...)
}
