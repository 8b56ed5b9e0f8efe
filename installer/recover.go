package installer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// staleAfter is how long a pending record with no dead fnfleet holder to
// explain it (one written by the helm CLI, or by an installer that could not
// take a lease) must have been pending before Apply counts it as interrupted:
// twice the timeout, because an atomic operation waits up to its timeout and
// then undoes itself with another; at least twice Helm's own default of 5
// minutes, since the other process's timeout is unknown.
func staleAfter(timeout time.Duration) time.Duration {
	return 2 * max(timeout, DefaultTimeout)
}

// stalePending decides whether the pending record last was left by a
// process that is gone. prev is the holder of the release's lease that Apply
// took over (nil: there was none, or it had been released). It reports why,
// in words for the log and the Result.
//
// The race, honestly: a holder whose renewals stop without dying (stopped,
// partitioned from the apiserver, or a clock more than a lease duration
// off) is taken for dead; if it resumes, its next renewal finds the lease
// taken, which ends its waits and fences its writes (fence.go), but a Helm
// write already in flight can still land after the recovery began. A pending record judged by age is wrong
// only for an operation of the helm CLI running longer than staleAfter.
func stalePending(last *release.Release, prev *orphan, now time.Time, bound time.Duration) (bool, string) {
	if prev != nil && prev.revision == last.Version {
		return true, fmt.Sprintf("its installer %s stopped renewing its lease %s ago",
			prev.holder, now.Sub(prev.renewed).Round(time.Second))
	}
	since := now.Sub(last.Info.LastDeployed.Time)
	if since > bound {
		return true, fmt.Sprintf("pending for %s, longer than %s", since.Round(time.Second), bound)
	}
	return false, fmt.Sprintf("pending for %s, written by a process that holds no installer lease (the helm CLI?); counted as interrupted after %s",
		since.Round(time.Second), bound)
}

// recoverPending undoes a stale pending release so that Apply can go on: a
// pending install with no deployed revision is uninstalled (Apply then
// installs afresh); a pending upgrade or rollback is rolled back to the last
// deployed revision (Apply then upgrades from it, or finds it unchanged).
// The interrupted record is marked failed first, so the history says what
// happened. It returns what it did, for Result.Recovered.
func (in *Installer) recoverPending(ctx context.Context, cfg *action.Configuration, held *lease, rel Release, last *release.Release, prev *orphan, log *slog.Logger) (string, error) {
	stale, why := stalePending(last, prev, time.Now(), staleAfter(rel.Timeout))
	status := last.Info.Status
	if !stale {
		return "", fmt.Errorf("release %s/%s revision %d is %s: %s: %w", rel.Namespace, rel.Name, last.Version, status, why, ErrInProgress)
	}
	what := fmt.Sprintf("%s revision %d (%s)", status, last.Version, why)
	log.Warn("recovering an interrupted release", "status", status, "revision", last.Version, "why", why)
	last.SetStatus(release.StatusFailed, "interrupted; recovered by fnfleet: "+why)
	if err := cfg.Releases.Update(last); err != nil {
		return "", fmt.Errorf("mark interrupted revision %d of %s/%s failed: %w", last.Version, rel.Namespace, rel.Name, err)
	}

	deployed, err := cfg.Releases.Deployed(rel.Name)
	switch {
	case errors.Is(err, driver.ErrNoDeployedReleases) && status == release.StatusPendingInstall:
		act := action.NewUninstall(cfg)
		act.Wait = true
		act.Timeout = rel.Timeout
		act.DeletionPropagation = "foreground"
		if _, err := act.Run(rel.Name); err != nil {
			return "", fmt.Errorf("uninstall interrupted %s: %w", what, err)
		}
		what += ": uninstalled"
	case errors.Is(err, driver.ErrNoDeployedReleases):
		// Nothing to roll back to; Helm upgrades from a failed revision.
		what += ": marked failed, no deployed revision to roll back to"
	case err != nil:
		return "", fmt.Errorf("find the deployed revision of %s/%s: %w", rel.Namespace, rel.Name, err)
	default:
		if err := held.writing(ctx, last.Version+1); err != nil {
			return "", err
		}
		act := action.NewRollback(cfg)
		act.Version = deployed.Version
		act.Wait = true
		act.Timeout = rel.Timeout
		act.MaxHistory = maxHistory
		act.CleanupOnFail = true
		if err := act.Run(rel.Name); err != nil {
			return "", fmt.Errorf("roll back interrupted %s to revision %d: %w", what, deployed.Version, err)
		}
		what += fmt.Sprintf(": rolled back to revision %d", deployed.Version)
	}
	log.Info("recovered", "what", what)
	return what, nil
}
