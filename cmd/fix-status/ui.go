package main

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fix-status/fix-status/app/audit"
	"github.com/fix-status/fix-status/app/serve"
	"github.com/fix-status/fix-status/app/stuck"
	"github.com/fix-status/fix-status/app/ui"
)

// pages are the server's pages and the tracker of stuck PRs they and the
// metrics read.
type pages struct {
	tracker *stuck.Tracker
	// ui is nil without the app's OAuth client (ui.oauth): the pages need
	// a GitHub sign-in.
	ui *ui.UI
}

// newPages makes the stuck tracker, feeds it every reconcile's outcome
// (chained before so's own OnReport, so it is called before serve.New),
// registers its gauges on reg and builds the pages.
func newPages(w *wired, reg prometheus.Registerer, so *serve.Options) (*pages, error) {
	cfg := w.cfg
	p := &pages{tracker: stuck.New(stuck.Options{Grace: cfg.Repair.GracePeriod.Duration, Now: w.now})}
	reg.MustRegister(p.tracker)
	next := so.OnReport
	so.OnReport = func(o serve.Outcome) {
		// The tracker is of pull requests; a stalled merge group leaves
		// the queue at its timeout, and its PRs' own pages say why.
		if o.Report == nil || o.Report.MergeGroup == nil {
			p.tracker.Observe(o.PR, o.Report, w.now())
		}
		if next != nil {
			next(o)
		}
	}
	if cfg.UI.OAuth.ClientID == "" {
		w.logger.Info().Msg("ui.oauth is not set: no details pages or dashboard")
		return p, nil
	}
	var err error
	p.ui, err = ui.New(ui.Options{
		WebURL: cfg.GitHub.WebURL, APIURL: cfg.GitHub.V3APIURL, PublicURL: cfg.UI.PublicURL,
		ClientID: cfg.UI.OAuth.ClientID, ClientSecret: cfg.UI.OAuth.ClientSecret,
		Clients: w.clients, Explainer: w.rec, Tracker: p.tracker,
		Findings: auditFindings(so.Audits), Now: w.now,
	})
	return p, err
}

// auditFindings gives the dashboard the findings of the drift watch's
// latest audit of each repository (none without it).
func auditFindings(audits *serve.Audits) func(context.Context) ([]audit.Finding, error) {
	if audits == nil {
		return nil
	}
	return func(context.Context) ([]audit.Finding, error) { return audits.Findings(), nil }
}

// mount registers the pages' routes: /, /prs/{owner}/{repo}/{number},
// /login, /oauth/callback, /logout.
func (p *pages) mount(mux *http.ServeMux) {
	if p.ui != nil {
		p.ui.Register(mux)
	}
}
