package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fnfleet/fnfleet/federation/observe"
)

// A kwok cluster runs no containers, so the Fn a cluster "runs" is a real
// `fnfleet fn-server` process on this machine: the cluster's data plane. It
// listens on the cluster's own loopback address, keeps its database in the
// cluster's directory (so it is parked and deleted with the cluster, and a
// process listing of the cluster includes it), and starts detached like the
// components.

// dataPlaneGrace is how long a data plane may take to finish calls in flight
// on SIGTERM before it is killed.
const dataPlaneGrace = 5 * time.Second

func (d *Driver) dataPlaneDir(name string) string {
	return filepath.Join(d.p.clusterDir(name), "fn")
}

// dataPlanes returns the sessions of the cluster's data plane processes:
// those whose command line runs fn-server on the cluster's data plane
// directory, the detached shell that started one included (it names them
// too, and leads the session from before the fn-server's exec). This, not
// the pid in the state file, is what tells whether a data plane runs: a
// caller killed after starting one and before recording it leaves it
// running unrecorded, holding the cluster's address.
func (d *Driver) dataPlanes(s *clusterState) ([]int, error) {
	sessions, err := sessionsNaming("fn-server", d.dataPlaneDir(s.Spec.Name))
	if err != nil {
		return nil, fmt.Errorf("data plane of cluster %q: %w", s.Spec.Name, err)
	}
	return sessions, nil
}

// ensureDataPlane starts the cluster's data plane unless one runs. It adopts
// one that a killed caller left unrecorded, and ends any second one (only
// one can hold the address).
func (d *Driver) ensureDataPlane(s *clusterState) error {
	name := s.Spec.Name
	running, err := d.dataPlanes(s)
	if err != nil {
		return err
	}
	if len(running) > 0 {
		keep := running[0]
		if slices.Contains(running, s.DataPlanePID) {
			keep = s.DataPlanePID
		}
		if extra := slices.DeleteFunc(slices.Clone(running), func(sid int) bool { return sid == keep }); len(extra) > 0 {
			d.p.log.Warn("ending extra data planes", "cluster", name, "kept", keep, "ended", extra)
			killSessions(extra, syscall.SIGKILL)
		}
		if keep != s.DataPlanePID {
			d.p.log.Info("adopting the data plane of a killed caller", "cluster", name, "pid", keep)
			s.DataPlanePID = keep
		}
		return nil
	}
	if err := executable(d.p.cfg.Fnfleet); err != nil {
		return fmt.Errorf("data plane of cluster %q: %w (build it with `go build -o bin/fnfleet ./cmd/fnfleet`, or set Config.Fnfleet)", name, err)
	}
	if err := os.MkdirAll(d.dataPlaneDir(name), 0o755); err != nil {
		return fmt.Errorf("data plane of cluster %q: %w", name, err)
	}
	listen := net.JoinHostPort(s.Addr, strconv.Itoa(FnPort))
	args := []string{"fn-server", "--addr", listen, "--data", d.dataPlaneDir(name), "--public-url", "http://" + listen}
	if d.p.cfg.FnImages != "" {
		args = append(args, "--images", d.p.cfg.FnImages)
	}
	state := filepath.Join(d.p.cfg.Workdir, "state")
	pid, err := startDetached(d.p.env(), filepath.Join(d.p.cfg.Workdir, "logs", name+".fn-server.log"),
		filepath.Join(state, name+".fn.rc"), d.p.cfg.Fnfleet, args...)
	if err != nil {
		return fmt.Errorf("data plane of cluster %q: %w", name, err)
	}
	d.crash("dataplane-started")
	d.p.log.Info("started data plane", "cluster", name, "addr", listen, "pid", pid)
	s.DataPlanePID = pid
	return nil
}

// stopDataPlane ends every data plane of the cluster: SIGTERM, then SIGKILL
// after dataPlaneGrace. It returns once they are gone.
func (d *Driver) stopDataPlane(s *clusterState) error {
	s.DataPlanePID = 0
	running, err := d.dataPlanes(s)
	if err != nil || len(running) == 0 {
		return err
	}
	killSessions(running, syscall.SIGTERM)
	deadline := time.Now().Add(dataPlaneGrace)
	for sig := syscall.SIGTERM; ; {
		time.Sleep(20 * time.Millisecond)
		if running, err = d.dataPlanes(s); err != nil || len(running) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			if sig == syscall.SIGKILL {
				return fmt.Errorf("data plane of cluster %q (sessions %v) survived SIGKILL for %v", s.Spec.Name, running, opKillWait)
			}
			sig, deadline = syscall.SIGKILL, time.Now().Add(opKillWait)
			killSessions(running, sig)
		}
	}
}

// publishAddress plays the cloud's load-balancer controller, which a kwok
// cluster lacks: it writes the data plane's address as the load-balancer
// ingress of the cluster's Fn Services of type LoadBalancer that lack it.
// It is level-based (every Observe of a running cluster), so it needs no
// process of its own and heals an address that someone overwrote.
func publishAddress(ctx context.Context, c *Cluster, addr string) error {
	client, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return err
	}
	svcs, err := client.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: observe.FnSelector})
	if err != nil {
		return fmt.Errorf("list Fn services: %w", err)
	}
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		ingress := svc.Status.LoadBalancer.Ingress
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(ingress) == 1 && ingress[0].IP == addr {
			continue
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: addr}}
		if _, err := client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("publish %s on service %s/%s: %w", addr, svc.Namespace, svc.Name, err)
		}
	}
	return nil
}

// HangDataPlane stops the data plane of cluster name with SIGSTOP: its
// processes stay, and its socket still accepts connections (the kernel
// queues them), but nothing answers, as a Fn stuck in a deadlock or a
// swap storm would. Observe sees it running and starts no other. Tests
// use it to fail a member the way a health check that only connects
// would miss; ResumeDataPlane ends it.
func (d *Driver) HangDataPlane(name string) error {
	return d.signalDataPlane(name, syscall.SIGSTOP)
}

// ResumeDataPlane continues a data plane that HangDataPlane stopped
// (SIGCONT); the connections queued meanwhile are then served.
func (d *Driver) ResumeDataPlane(name string) error {
	return d.signalDataPlane(name, syscall.SIGCONT)
}

// signalDataPlane sends sig to every process of the sessions of cluster
// name's data plane.
func (d *Driver) signalDataPlane(name string, sig syscall.Signal) error {
	sessions, err := sessionsNaming("fn-server", d.dataPlaneDir(name))
	if err != nil {
		return fmt.Errorf("data plane of cluster %q: %w", name, err)
	}
	if len(sessions) == 0 {
		return fmt.Errorf("data plane of cluster %q: not running", name)
	}
	killSessions(sessions, sig)
	return nil
}
