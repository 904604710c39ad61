// Command fakegithub runs the GitHub emulator as a standalone server: GitHub's
// REST API for a GitHub App (app JWT, installation tokens, rate limits,
// pagination, ETags) over a scenario file, plus signed webhooks and an admin
// API under /_fake/. See app/fakegithub/README.md.
//
//	fakegithub --listen 127.0.0.1:0 --scenario FILE [--webhook-url URL]
//	           [--write-app-config FILE] [--latency DURATION] [--webhooks-for-api-writes]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fix-status/fix-status/app/fakegithub"
	"github.com/fix-status/fix-status/config"
	"go.yaml.in/yaml/v3"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fakegithub:", err)
		os.Exit(1)
	}
}

// run starts the emulator and serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fakegithub", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	scenario := fs.String("scenario", "", "scenario file (YAML, required)")
	webhookURL := fs.String("webhook-url", "", "where to deliver webhooks")
	appConfig := fs.String("write-app-config", "", "write a fix-status server config pointing at the emulator to this file")
	latency := fs.Duration("latency", 0, "delay added to every API response")
	apiHooks := fs.Bool("webhooks-for-api-writes", false, "also send the webhooks the app's own writes cause (status, check_run, issue_comment), as GitHub does")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *scenario == "" {
		return errors.New("--scenario is required")
	}
	if *latency < 0 {
		return errors.New("--latency must not be negative")
	}
	sc, err := fakegithub.LoadScenario(*scenario)
	if err != nil {
		return err
	}
	srv, err := fakegithub.New(fakegithub.Options{Scenario: sc, WebhookURL: *webhookURL, Latency: *latency,
		WebhooksForAPIWrites: *apiHooks})
	if err != nil {
		return err
	}
	url, err := srv.Start(*listen)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *appConfig != "" {
		data, err := yaml.Marshal(config.ForApp(config.AppCredentials(srv.Credentials())))
		if err != nil {
			return fmt.Errorf("failed to encode the app config: %w", err)
		}
		// The config holds the app's private key.
		if err := os.WriteFile(*appConfig, data, 0o600); err != nil {
			return fmt.Errorf("failed to write the app config: %w", err)
		}
	}
	fmt.Fprintf(stdout, "fakegithub listening on %s\n", url)
	<-ctx.Done()
	return nil
}
