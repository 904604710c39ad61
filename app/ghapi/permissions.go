package ghapi

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// DefaultPermissionWarnEvery is how often a missing permission is logged
// again while it stays missing: operators need to hear of it, not once per
// request.
const DefaultPermissionWarnEvery = time.Hour

// PermissionWatch keeps track of the permissions GitHub refused calls for,
// per installation: the first refusal, and again once per interval while
// it lasts, is logged as a warning naming the installation, the repository,
// the endpoint and what to grant; a gauge (PermissionGauge) says which are
// missing now. It is safe for concurrent use.
type PermissionWatch struct {
	opts PermissionWatchOptions

	mu sync.Mutex
	// warned is when each missing permission was last logged.
	warned map[permissionKey]time.Time
}

// PermissionWatchOptions configure a PermissionWatch.
type PermissionWatchOptions struct {
	// Every is how often a permission still missing is logged again
	// (default DefaultPermissionWarnEvery).
	Every time.Duration
	Now   func() time.Time
	// Gauge, when set, is told when a permission goes missing and when it
	// is seen granted again.
	Gauge PermissionGauge
}

// PermissionGauge is where a PermissionWatch reports its state: a metric.
type PermissionGauge interface {
	PermissionMissing(installation int64, permission string, missing bool)
}

type permissionKey struct {
	installation int64
	permission   string
}

// NewPermissionWatch builds a PermissionWatch.
func NewPermissionWatch(o PermissionWatchOptions) *PermissionWatch {
	if o.Every <= 0 {
		o.Every = DefaultPermissionWarnEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &PermissionWatch{opts: o, warned: map[permissionKey]time.Time{}}
}

// Missing records that GitHub refused a call of installation on repo
// (owner/name) for lack of a permission, and logs it with the logger of ctx
// unless it was logged less than an interval ago.
func (w *PermissionWatch) Missing(ctx context.Context, installation int64, repo string, e *PermissionError) {
	k := permissionKey{installation, e.Accepted}
	now := w.opts.Now()
	w.mu.Lock()
	last, seen := w.warned[k]
	due := !seen || now.Sub(last) >= w.opts.Every
	if due {
		w.warned[k] = now
	}
	w.mu.Unlock()
	if w.opts.Gauge != nil && !seen {
		w.opts.Gauge.PermissionMissing(installation, e.Accepted, true)
	}
	if due {
		zerolog.Ctx(ctx).Warn().Int64("installation", installation).Str("repo", repo).Str("endpoint", e.Endpoint).
			Str("permission", e.Accepted).Str("denied", e.Denied).
			Msgf("permission missing: %s; grant it in the app's settings (the installation must accept it)", e.Permission())
	}
}

// Granted records that a call needing permission (as GitHub names it, e.g.
// ClassicProtectionPermission) succeeded for installation: it is missing no
// more, and a later refusal is logged at once.
func (w *PermissionWatch) Granted(installation int64, permission string) {
	k := permissionKey{installation, permission}
	w.mu.Lock()
	_, was := w.warned[k]
	delete(w.warned, k)
	w.mu.Unlock()
	if was && w.opts.Gauge != nil {
		w.opts.Gauge.PermissionMissing(installation, permission, false)
	}
}
