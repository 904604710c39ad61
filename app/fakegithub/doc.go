// Package fakegithub is a GitHub emulator: it serves GitHub's REST API for a
// GitHub App over real HTTP, so that go-githubapp's client creator and
// go-github v60 clients talk to it unmodified, and it sends signed webhooks
// when its state changes. Tests, benchmarks, `fix-status demo` and operators
// trying a config use it; cmd/fakegithub runs it standalone.
//
// What it emulates (see README.md for the list of operations):
//
//   - App authentication: the app JWT (RS256, checked against the app's public
//     key and GitHub's lifetime rules), installation tokens from
//     POST /app/installations/{id}/access_tokens (one hour, the installation's
//     permissions, optionally narrowed), checked on every call: unknown or
//     expired → 401, a repository outside the installation → 404, a missing
//     permission → 403 "Resource not accessible by integration".
//   - GitHub's JSON shapes, status codes and error bodies; Link pagination
//     (per_page default 30, at most 100; PR files stop at 3,000); weak ETags
//     with If-None-Match → 304, which is not charged; x-ratelimit-* headers and
//     a per-installation hourly budget (exhausted → 403 that go-github turns into
//     *github.RateLimitError); faults and secondary limits on demand
//     (Server.Fault, POST /_fake/faults), a fixed latency, and delay and
//     hold faults that keep a request in flight until a test releases it
//     (Server.Hold, POST /_fake/faults/release); its answer is computed
//     after the wait. Every answer, faults included, carries the caller's
//     rate-limit headers and, for an endpoint that needs a permission,
//     X-Accepted-GitHub-Permissions.
//   - GitHub's secondary limits when the scenario sets secondary_limits (80
//     content-creating requests a minute, 500 an hour, 900 points a minute
//     per REST endpoint, 2,000 for GraphQL, 100 concurrent counted with the
//     latency, per installation): 403 with retry-after
//     (*github.AbuseRateLimitError).
//   - Fork PRs, check suites per workflow on pushes and new PR heads,
//     check_suite.completed after the run that ends a suite, Git trees and
//     blobs, and each app's webhook deliveries (GET /app/hook/deliveries,
//     redelivery), as README.md describes.
//   - Writes made with an installation token are recorded as the bot of the
//     token's app (login "<slug>[bot]"); writes through events as the named
//     user. With Options.WebhooksForAPIWrites the app's own writes also
//     cause webhooks (sent in the background; Server.WaitWebhooks waits for
//     them).
//   - More of GitHub (README.md): merge queues (mergequeue.go), an opt-in
//     simulation of GitHub Actions for merge groups (mergegroup_actions.go),
//     user sign-in through OAuth and user tokens (oauth.go), apps created
//     through the manifest flow and served beside the scenario's
//     (manifest.go).
//
// # Events
//
// Server.Event (and POST /_fake/events, which takes the same JSON) changes the
// state the way GitHub would and delivers the matching webhook before it
// returns, to the webhook URL of the app it is for (the scenario app's is
// Options.WebhookURL / SetWebhookURL, a manifest app's its
// hook_attributes.url), signed with X-Hub-Signature-256 (hex HMAC-SHA256 of
// the body with that app's webhook secret), with X-GitHub-Event and
// X-GitHub-Delivery. Every attempt is recorded among that app's deliveries
// (GET /app/hook/deliveries with its JWT). Every payload carries repository, sender,
// installation {id, node_id} and, for organization repositories,
// organization. No webhook is sent when no URL is set, when the app does not
// subscribe to the event, or when the repository is not installed; the result
// says which (EventResult.Skipped).
//
// The JSON form: {"type": "...", "repo": "owner/name", "user": "login", ...}
// with, per type:
//
//	pull_request.opened            number (default: next), title, body, user, base (default branch),
//	                               head (branch name, default pr-N), head_sha (default generated),
//	                               draft, fork (the head is in the user's fork), files: [{filename,
//	                               status, previous_filename (renamed), additions, deletions, content}]
//	pull_request.synchronize       number, head_sha (new head; default generated), files (the PR's
//	                               full new list; default unchanged) → payload before/after
//	pull_request.edited            number, base (new base branch: new base.ref and base.sha) and/or
//	                               title, body → payload changes (changes.base.ref.from, .sha.from)
//	pull_request.ready_for_review  number        (also converted_to_draft)
//	pull_request.closed            number, merged
//	pull_request.reopened          number
//	issue_comment.created          number, user, body, author_association (default: derived: OWNER,
//	                               COLLABORATOR, CONTRIBUTOR with a merged PR, FIRST_TIME_CONTRIBUTOR
//	                               with only open ones, else NONE) → result comment_id
//	push                           branch (any branch of any repository, created if new), files:
//	                               {path: content, path: null deletes}, renamed: {old: new},
//	                               message → new branch head (result sha), payload before/after,
//	                               commits[] and head_commit with added/modified/removed (a rename
//	                               is removed + added); queued Actions suites per workflow
//	status                         sha, context (default "default"), state, description (at most
//	                               140 characters), target_url, creator (a login, default user) or
//	                               app_id (reported by that app's bot)
//	check_run.created              sha, name, status (default queued), conclusion, app_id (default
//	                               GitHub Actions, 15368), workflow (groups runs into an Actions run)
//	check_run.completed            sha, name, app_id, conclusion (completes the newest unfinished run
//	                               of that name and app, or creates a completed one), or check_run_id;
//	                               followed by check_suite.completed when it ends its suite
//	check_suite.completed          sha, app_id, workflow, conclusion (completes the suite's runs)
//	branch_protection_rule.created|edited|deleted
//	                               branch, protection: {required_status_checks: {strict, contexts,
//	                               checks: [{context, app_id}]}, enforce_admins}
//	repository_ruleset.created|edited|deleted
//	                               branch, rules: [{type, parameters}] (replaces the branch's rules)
//	installation.created           installation_id, account, account_type, repos (existing
//	                               repositories of the account the app is not yet installed on),
//	                               app_id (default the scenario's app; or an app made from a
//	                               manifest, which alone receives the webhook)
//	installation_repositories.added
//	                               installation_id, repos
//	merge_group.checks_requested   base (default branch; it needs a merge_queue rule), prs: [N, ...]
//	                               (open PRs of base, in queue order), head_sha (default generated)
//	                               → result sha, head_ref
//	merge_group.destroyed          sha (an active group's head), reason: merged | dequeued |
//	                               invalidated (merged merges it)
//
// A check_run.completed that ends its suite is followed by
// check_suite.completed. A repository event is also delivered to every
// other served app installed on the repository that subscribes to it (an
// app made from a manifest), as a followup. The merge queues settle after every event and API write (see
// mergequeue.go): what that changes (a merge group merged, dequeued or
// invalidated, its PRs closed as merged) is delivered after the event's own
// webhook, as followups.
//
// The answer of POST /_fake/events is the EventResult: {"event", "action",
// "delivery", "delivered", "status_code", "skipped", "number", "sha",
// "comment_id", "check_run_id", "head_ref", "followups": [EventResult of
// the webhooks sent after it, in order]}; 422 for an invalid event (nothing
// changed), 502 when a delivery failed (the state has changed).
package fakegithub
