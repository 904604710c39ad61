package plan

import (
	"strings"
	"testing"
)

// TestCommandPolicy: who may run /fix-status, when the commenter's
// permission must be read, and what a commenter who may not re-run CI gets.
func TestCommandPolicy(t *testing.T) {
	retrigger := func(s *Snapshot) { s.Required[0].Context = "unit" } // unit should run and never reported
	tests := []struct {
		name    string
		edit    func(s *Snapshot)
		cmd     Command
		needs   bool   // NeedsPermission before the read
		perm    string // the permission read, when needed
		refused string
		verdict Verdict
		writes  int
		suffix  bool // the reason says write permission is needed
	}{
		{name: "anyone asks for a skip: no read", cmd: Command{Commenter: "u", Association: "NONE", Policy: CommandAnyone},
			verdict: Skip, writes: 1},
		{name: "a collaborator asks for a skip: no read", cmd: Command{Commenter: "u", Association: "MEMBER", Policy: CommandCollaborators},
			verdict: Skip, writes: 1},
		{name: "collaborators only, a contributor: refused without a read", cmd: Command{Commenter: "u", Association: "CONTRIBUTOR", Policy: CommandCollaborators},
			refused: "only collaborators may run /fix-status on o/r", verdict: Skip, writes: 1},
		{name: "collaborators only, association unknown: read, none → refused", cmd: Command{Commenter: "u", Policy: CommandCollaborators},
			needs: true, perm: "none", refused: "only collaborators may run /fix-status on o/r", verdict: Skip, writes: 1},
		{name: "collaborators only, association unknown: read, write → runs", cmd: Command{Commenter: "u", Policy: CommandCollaborators},
			needs: true, perm: "write", verdict: Skip, writes: 1},
		{name: "a re-trigger asked by a writer", edit: retrigger, cmd: Command{Commenter: "u", Association: "COLLABORATOR", Policy: CommandAnyone},
			needs: true, perm: "write", verdict: Retrigger, writes: 1},
		{name: "a re-trigger asked by an admin", edit: retrigger, cmd: Command{Commenter: "u", Association: "OWNER", Policy: CommandAnyone},
			needs: true, perm: "admin", verdict: Retrigger, writes: 1},
		{name: "a re-trigger asked by a reader: no CI time", edit: retrigger, cmd: Command{Commenter: "u", Association: "CONTRIBUTOR", Policy: CommandAnyone},
			needs: true, perm: "read", verdict: Retrigger, writes: 0, suffix: true},
		{name: "a re-trigger before the permission is known writes nothing", edit: retrigger,
			cmd: Command{Commenter: "u", Association: "MEMBER", Policy: CommandAnyone}, needs: true, verdict: Retrigger, writes: 0, suffix: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSnapshot()
			if tt.edit != nil {
				tt.edit(s)
			}
			cmd := tt.cmd
			s.Command = &cmd
			ds := Plan(s, opts)
			if got := NeedsPermission(s, ds); got != tt.needs {
				t.Fatalf("NeedsPermission = %v, want %v", got, tt.needs)
			}
			if tt.needs && tt.perm != "" {
				s.Command.Permission, s.Command.PermissionRead = tt.perm, true
				ds = Plan(s, opts)
				if NeedsPermission(s, ds) {
					t.Fatal("NeedsPermission after the read")
				}
			}
			if got := Refusal(s); got != tt.refused {
				t.Errorf("Refusal = %q, want %q", got, tt.refused)
			}
			d := ds[0]
			if d.Verdict != tt.verdict || len(d.Writes) != tt.writes {
				t.Errorf("got %s with %d writes (%q), want %s with %d", d.Verdict, len(d.Writes), d.Reason, tt.verdict, tt.writes)
			}
			if got := len(d.Reason) > 0 && strings.Contains(d.Reason, "re-running CI needs write permission"); got != tt.suffix {
				t.Errorf("reason %q: says write permission is needed %v, want %v", d.Reason, got, tt.suffix)
			}
		})
	}
}

// TestCommandRevokeKeepsItsWrites: a revoke takes back fix-status's own
// mistake, whoever asked.
func TestCommandRevokeKeepsItsWrites(t *testing.T) {
	s := baseSnapshot()
	s.Required[0].Context = "unit"
	s.Statuses = []Status{{Context: "unit", State: "success", Creator: "fix-status[bot]"}}
	s.Command = &Command{Commenter: "u", Association: "NONE", Policy: CommandAnyone, Permission: "read", PermissionRead: true}
	d := Plan(s, opts)[0]
	if d.Verdict != Revoke || len(d.Writes) != 2 {
		t.Errorf("got %s with %+v", d.Verdict, d.Writes)
	}
}

func TestIsCommand(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{"/fix-status", true},
		{"/FIX-STATUS  ", true},
		{"Why is this stuck?\n/fix-status\n", true},
		{"Why is this stuck?\r\n/fix-status\r\n", true},
		{"please /fix-status", false},
		{"/fix-status now", false},
		{"  /fix-status", false},
		{"> /fix-status", false},
		{"    /fix-status", false},
		{"```\n/fix-status\n```", false},
		{"~~~sh\n/fix-status\n~~~\n", false},
		{"```\n/fix-status\n```\n/fix-status", true},
		{"````\n```\n/fix-status\n````", false},
		{"```\nnot closed\n/fix-status", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsCommand(tt.body); got != tt.want {
			t.Errorf("IsCommand(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestRetriggerMarkersRoundTrip(t *testing.T) {
	ws := []Write{{Kind: WriteComment, Context: `pull "quoted" | ctx`, Comment: "/test a"}, {Kind: WriteComment, Context: "b", Comment: "/test a"}}
	body := RetriggerComment(ws, "0123456789abcdef")
	if got := ParseRetriggerMarkers(body, "0123456789abcdef"); len(got) != 2 || got[0] != ws[0].Context || got[1] != "b" {
		t.Errorf("markers read back: %q from\n%s", got, body)
	}
	if got := ParseRetriggerMarkers(body, "fedcba"); len(got) != 0 {
		t.Errorf("markers of another head: %q", got)
	}
	if n := strings.Count(body, "/test a\n"); n != 1 {
		t.Errorf("the command appears %d times, want once:\n%s", n, body)
	}
}
