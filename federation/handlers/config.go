package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/fnfleet/fnfleet/fdk/cloudevent"
	"github.com/fnfleet/fnfleet/federation/control"
	"github.com/fnfleet/fnfleet/federation/events"
	"github.com/fnfleet/fnfleet/federation/fninvoke"
	"github.com/fnfleet/fnfleet/federation/hub"
	"github.com/fnfleet/fnfleet/federation/lifecycle"
	"github.com/fnfleet/fnfleet/federation/providers"
	"github.com/fnfleet/fnfleet/federation/providers/local"
	"github.com/fnfleet/fnfleet/federation/providers/static"
	"github.com/fnfleet/fnfleet/installer"
)

// Bounds of the functions' work.
const (
	// fanOutLimit bounds the objects one call works on at once: eight
	// steps keep a 2-core hub busy without queueing the apiserver's
	// client-side rate limit (hub.New: 200 QPS).
	fanOutLimit = 8
	// memberTimeout bounds one member's look in reconcile: a member that
	// hangs is recorded as such at the next look, and does not hold the
	// others past the function's 120 s timeout.
	memberTimeout = 30 * time.Second
	// defaultLocalPoll is how often lifecycle looks again at a local
	// member in motion: a local cluster serves about 6-10 s after its
	// create and wakes in under a second (the 10 s default is sized for
	// cloud clusters).
	defaultLocalPoll = 2 * time.Second
	// lifecycleResync is how soon lifecycle looks again at a cluster at
	// rest (lifecycle.Options.Resync). A step asking for less is a
	// cluster in motion, whose event is deferred; at rest, the resync tick
	// looks again.
	lifecycleResync = 5 * time.Minute
	// installTimeout bounds one install of charts/fn inside a lifecycle
	// call: under the function's 300 s Fn timeout (limitsOf), with a
	// minute left for the step's reads and writes, so a call is never
	// killed half-way through an install.
	installTimeout = 4 * time.Minute
)

// config is a function's Fn config (app config and fn config).
type config map[string]string

// need returns the value of key, or a 500 naming it and what to set.
func (c config) need(key, what string) (string, error) {
	v := strings.TrimSpace(c[key])
	if v == "" {
		return "", cloudevent.Errorf(http.StatusInternalServerError,
			"function config %s is not set: set it in the config of Fn app %s to %s", key, AppName, what)
	}
	return v, nil
}

// logger is the function's logger, at ConfigLogLevel, on stderr (Fn keeps
// it as the function's log).
func (c config) logger() (*slog.Logger, error) {
	var level slog.Level
	if v := c[ConfigLogLevel]; v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			return nil, cloudevent.Errorf(http.StatusInternalServerError,
				"function config %s=%q: set it to debug, info, warn or error", ConfigLogLevel, v)
		}
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// hub connects to the hub with the kubeconfig ConfigHubKubeconfig names,
// as function fn, and gives the function's logger with it (what every
// shell is built on). The user agent fnfleet-<fn> is the field manager of
// the function's creates and patches (placement's MemberClusters, deploy's
// finalizer), so managedFields say which function wrote what.
func (c config) hub(fn string) (*hub.Client, *rest.Config, *slog.Logger, error) {
	log, err := c.logger()
	if err != nil {
		return nil, nil, nil, err
	}
	path, err := c.need(ConfigHubKubeconfig, "the path of a kubeconfig for the hub")
	if err != nil {
		return nil, nil, nil, err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, nil, nil, cloudevent.Errorf(http.StatusInternalServerError,
			"function config %s=%s: not a readable kubeconfig (%v); set it to the hub's kubeconfig file", ConfigHubKubeconfig, path, err)
	}
	rc.UserAgent = "fnfleet-" + fn
	h, err := hub.New(rc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("hub client from %s: %w", path, err)
	}
	return h, rc, log, nil
}

// invoker calls the other management functions through the hub's Fn API.
func (c config) invoker() (*fninvoke.Client, error) {
	u, err := c.need(ConfigFnAPIURL, "the hub's Fn API base URL, like http://127.0.0.1:8080")
	if err != nil {
		return nil, err
	}
	inv, err := fninvoke.New(u, nil)
	if err != nil {
		return nil, cloudevent.Errorf(http.StatusInternalServerError, "function config %s: %v", ConfigFnAPIURL, err)
	}
	return inv, nil
}

// sender sends follow-up events to the events trigger, signed with the
// event secret. Its retries are few and short: a follow-up is a hint (the
// resync tick repairs a lost one), and the function's call must not wait
// out a sink that is down.
func (c config) sender(log *slog.Logger) (*events.Sender, error) {
	sink, err := c.need(ConfigEventsURL, "the events trigger URL, like http://127.0.0.1:8080/t/fnfleet/events")
	if err != nil {
		return nil, err
	}
	secret, err := c.need(cloudevent.ConfigHMACSecret, "the shared secret events are signed with")
	if err != nil {
		return nil, err
	}
	sign := func(r *http.Request, e event.Event, now time.Time) error {
		sig, err := cloudevent.Sign(e, now, []byte(secret))
		r.Header.Set(cloudevent.SignatureHeader, sig)
		return err
	}
	s, err := events.NewSender(sink, events.WithSigner(sign), events.WithLogger(log), events.WithRetries(3),
		events.WithBackoff(200*time.Millisecond, 2*time.Second), events.WithAttemptTimeout(lifecycleCallTimeout))
	if err != nil {
		return nil, cloudevent.Errorf(http.StatusInternalServerError, "function config %s: %v", ConfigEventsURL, err)
	}
	return s, nil
}

// lifecycleCallTimeout bounds a call that ends in lifecycle: its Fn
// timeout (300 s) and a margin for the events function in front, as the
// senders' default attempt bound.
const lifecycleCallTimeout = events.DefaultAttemptTimeout

// lifecycleShell builds the lifecycle shell: the static provider always
// (clusters registered by their kubeconfig Secret), the local provider
// when ConfigLocalWorkdir is set.
func (c config) lifecycleShell(h *hub.Client, rc *rest.Config, log *slog.Logger) (*control.Lifecycle, error) {
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("hub clientset: %w", err)
	}
	provs := map[string]providers.Provider{"static": static.New(kube)}
	poll := defaultLocalPoll
	if workdir := c[ConfigLocalWorkdir]; workdir != "" {
		driver, err := c.localDriver(workdir, log)
		if err != nil {
			return nil, err
		}
		provs["local"] = driver
		if v := c[ConfigLocalPoll]; v != "" {
			if poll, err = time.ParseDuration(v); err != nil || poll < 100*time.Millisecond {
				return nil, cloudevent.Errorf(http.StatusInternalServerError,
					"function config %s=%q: set it to a Go duration of at least 100ms, like 2s", ConfigLocalPoll, v)
			}
		}
	}
	return control.NewLifecycle(control.LifecycleConfig{
		Hub: h, Providers: provs, Installer: installer.New(log),
		Machine:        lifecycle.Options{Poll: poll, Resync: lifecycleResync},
		InstallTimeout: installTimeout,
		Logger:         log,
	})
}

// localDriver is the local provider in workdir. It does not own the
// clusters (OwnerPID 0, no watchdog): a function process is reaped when
// idle, and `fnfleet up` owns and cleans up the fleet.
func (c config) localDriver(workdir string, log *slog.Logger) (*local.Driver, error) {
	bin, err := c.need(ConfigBin, "the directory of the cluster binaries (kwokctl, kube-apiserver, etcd...)")
	if err != nil {
		return nil, err
	}
	bins, err := local.FindBinaries(bin)
	if err != nil {
		return nil, cloudevent.Errorf(http.StatusInternalServerError, "function config %s=%s: %v", ConfigBin, bin, err)
	}
	p, err := local.New(local.Config{
		Binaries: bins, Workdir: workdir, Logger: log,
		Fnfleet: c[ConfigLocalFnfleet], FnImages: c[ConfigLocalFnImages],
	})
	if err != nil {
		return nil, cloudevent.Errorf(http.StatusInternalServerError, "function config %s=%s: %v", ConfigLocalWorkdir, workdir, err)
	}
	return local.NewDriver(p), nil
}
