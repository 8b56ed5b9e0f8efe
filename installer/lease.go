package installer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
)

// ErrInProgress says that another process is installing, upgrading or
// rolling back the release right now. Retrying later is the remedy.
var ErrInProgress = errors.New("another install or upgrade of the release is in progress")

// Helm keeps no owner on a pending release record, so a record left pending
// by a process killed mid-install looks exactly like one whose process is
// still waiting for readiness. Apply therefore holds a Lease
// (coordination.k8s.io/v1, in the release namespace, named
// leasePrefix+release) for as long as it runs, renews it every third of its
// duration, and notes on it the revision it is about to write. A later Apply
// that finds the lease expired and the pending record carrying the noted
// revision knows the writer is gone, and recovers at once.
const (
	leasePrefix = "fnfleet-installer."
	// defaultLeaseDuration is client-go leader election's default: two
	// renewals (every 5 s) may fail, on a loaded apiserver, before the lease
	// is lost.
	defaultLeaseDuration = 15 * time.Second
	// revisionAnnotation on the lease is the release revision its holder is
	// writing (the pending record a crash would leave).
	revisionAnnotation = "fnfleet.dev/writing-revision"
	leaseCallTimeout   = 10 * time.Second
)

// orphan is what an expired lease tells about its dead holder.
type orphan struct {
	holder   string
	revision int // 0 when it had not started writing one
	renewed  time.Time
}

// lease is one Apply's hold on a release. A nil *lease (the caller may not
// manage Leases in the namespace) does nothing: staleness is then judged by
// age alone.
type lease struct {
	client   coordinationclient.LeaseInterface
	duration time.Duration
	log      *slog.Logger
	lost     context.CancelCauseFunc

	mu    sync.Mutex
	obj   *coordinationv1.Lease
	taken bool // by another process: nothing of ours to delete

	stop context.CancelFunc
	done chan struct{}
}

// holderIdentity names this process for a person reading the lease; the
// random part keeps two calls of one process apart.
func holderIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + rand.Text()[:8]
}

// acquireLease takes the release's lease: it creates it, or takes over one
// whose holder stopped renewing it, reporting that holder as an orphan. A
// lease held and renewed by another holder is ErrInProgress. While held, the
// lease is renewed in the background; when it is lost (another process took
// it over after a stall longer than its duration), lost is called with
// errLeaseLost, which ends the caller's Helm waits and fences its writes
// (fence.go).
func acquireLease(ctx context.Context, cs kubernetes.Interface, namespace, release string, duration time.Duration, log *slog.Logger, lost context.CancelCauseFunc) (*lease, *orphan, error) {
	client := cs.CoordinationV1().Leases(namespace)
	name := leasePrefix + release
	holder := holderIdentity()
	// Two attempts: a concurrent taker makes the first create or update
	// conflict; the second then sees that taker's live lease.
	for range 2 {
		l, prev, err := tryAcquire(ctx, client, name, holder, duration)
		switch {
		case apierrors.IsForbidden(err):
			log.Warn("may not manage Leases in the release namespace; an interrupted install is then recovered only by age", "error", err)
			return nil, nil, nil
		case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
			continue
		case err != nil:
			return nil, nil, err
		}
		held := &lease{client: client, duration: duration, log: log, lost: lost, obj: l}
		held.start(ctx)
		return held, prev, nil
	}
	return nil, nil, fmt.Errorf("lease %s/%s: taken by another process at the same moment: %w", namespace, name, ErrInProgress)
}

func tryAcquire(ctx context.Context, client coordinationclient.LeaseInterface, name, holder string, duration time.Duration) (*coordinationv1.Lease, *orphan, error) {
	ctx, cancel := context.WithTimeout(ctx, leaseCallTimeout)
	defer cancel()
	now := metav1.NewMicroTime(time.Now())
	seconds := int32(duration / time.Second)
	spec := coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now}

	cur, err := client.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l, err := client.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("create lease %s: %w", name, err)
		}
		return l, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read lease %s: %w", name, err)
	}
	prev := orphanOf(cur)
	if expires := prev.renewed.Add(leaseDurationOf(cur)); time.Now().Before(expires) {
		return nil, nil, fmt.Errorf("lease %s is held by %s, renewed %s ago: %w",
			name, prev.holder, time.Since(prev.renewed).Round(time.Second), ErrInProgress)
	}
	next := cur.DeepCopy()
	next.Spec = spec
	delete(next.Annotations, revisionAnnotation)
	l, err := client.Update(ctx, next, metav1.UpdateOptions{}) // carries cur's resourceVersion: one taker wins
	if err != nil {
		return nil, nil, fmt.Errorf("take over lease %s from %s: %w", name, prev.holder, err)
	}
	return l, &prev, nil
}

func orphanOf(l *coordinationv1.Lease) orphan {
	var o orphan
	if l.Spec.HolderIdentity != nil {
		o.holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		o.renewed = l.Spec.RenewTime.Time
	}
	o.revision, _ = strconv.Atoi(l.Annotations[revisionAnnotation]) // absent or garbled: 0, no revision
	return o
}

func leaseDurationOf(l *coordinationv1.Lease) time.Duration {
	if l.Spec.LeaseDurationSeconds == nil {
		return defaultLeaseDuration
	}
	return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
}

func (l *lease) start(ctx context.Context) {
	ctx, l.stop = context.WithCancel(context.WithoutCancel(ctx))
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		tick := time.NewTicker(l.duration / 3)
		defer tick.Stop()
		lastRenew := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := l.update(ctx, func(*coordinationv1.Lease) {})
			switch {
			case err == nil:
				lastRenew = time.Now()
			case apierrors.IsConflict(err) || apierrors.IsNotFound(err) || time.Since(lastRenew) > l.duration:
				l.log.Error("lost the installer lease; stopping", "error", err)
				l.mu.Lock()
				l.taken = true
				l.mu.Unlock()
				l.lost(fmt.Errorf("%w: %w", errLeaseLost, err))
				return
			default:
				l.log.Warn("renew the installer lease", "error", err)
			}
		}
	}()
}

// update renews the lease after applying change to it.
func (l *lease) update(ctx context.Context, change func(*coordinationv1.Lease)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, leaseCallTimeout)
	defer cancel()
	next := l.obj.DeepCopy()
	change(next)
	now := metav1.NewMicroTime(time.Now())
	next.Spec.RenewTime = &now
	got, err := l.client.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update lease %s: %w", l.obj.Name, err)
	}
	l.obj = got
	return nil
}

// writing notes on the lease the revision the next Helm action creates, so
// that if this process dies mid-action, the next Apply knows that revision's
// pending record is an orphan.
func (l *lease) writing(ctx context.Context, revision int) error {
	if l == nil {
		return nil
	}
	return l.update(ctx, func(next *coordinationv1.Lease) {
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		next.Annotations[revisionAnnotation] = strconv.Itoa(revision)
	})
}

// release stops renewing and deletes the lease, unless another process has
// taken it over since (the delete is conditional on the version held).
func (l *lease) release(ctx context.Context) {
	if l == nil {
		return
	}
	l.stop()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.taken {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseCallTimeout)
	defer cancel()
	rv := l.obj.ResourceVersion
	err := l.client.Delete(ctx, l.obj.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) {
		// Harmless: it expires, and the next Apply takes it over.
		l.log.Warn("release the installer lease", "error", err)
	}
}
