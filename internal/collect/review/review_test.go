package review_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/collect/review"
	"github.com/evident-dev/evident/internal/evidence"
)

func sha(c byte) string { return strings.Repeat(string(c), 40) }

func approved(by string) review.Review {
	return review.Review{Reviewer: by, State: review.StateApproved, SubmittedAt: "2026-11-02T10:00:00Z"}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit review.Commit
		ok     bool
		reason string
	}{
		{"approved by another", review.Commit{Author: "alice", PullRequests: []review.PullRequest{
			{Number: 1, Author: "alice", Merged: true, Approvers: []string{"bob"}}}}, true, ""},
		{"no pull request", review.Commit{Author: "alice", PullRequests: []review.PullRequest{}}, false, review.ReasonNoPullRequest},
		{"not merged", review.Commit{Author: "alice", PullRequests: []review.PullRequest{
			{Number: 1, Author: "alice", Merged: false, Approvers: []string{"bob"}}}}, false, review.ReasonNotMerged},
		{"no approval", review.Commit{Author: "alice", PullRequests: []review.PullRequest{
			{Number: 1, Author: "alice", Merged: true, Approvers: []string{}}}}, false, review.ReasonNoApproval},
		{"approved by the commit's author only", review.Commit{Author: "Carol", PullRequests: []review.PullRequest{
			// carol pushed to alice's pull request and approved it herself
			{Number: 1, Author: "alice", Merged: true, Approvers: []string{"carol"}}}}, false, review.ReasonSelfApproved},
		{"approved by the pull request's author only", review.Commit{Author: "", AuthorName: "Some One", PullRequests: []review.PullRequest{
			{Number: 1, Author: "alice", Merged: true, Approvers: []string{"alice"}}}}, false, review.ReasonSelfApproved},
		{"one merged approved pull request is enough", review.Commit{Author: "alice", PullRequests: []review.PullRequest{
			{Number: 1, Author: "alice", Merged: false, Approvers: []string{}},
			{Number: 2, Author: "alice", Merged: true, Approvers: []string{"alice", "dave"}}}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason := review.Judge(tc.commit)
			if ok != tc.ok || reason != tc.reason {
				t.Errorf("Judge = %t %q, want %t %q", ok, reason, tc.ok, tc.reason)
			}
		})
	}
}

func TestLatest(t *testing.T) {
	got := review.Latest([]review.Review{
		{Reviewer: "bob", State: review.StateApproved},
		{Reviewer: "bob", State: review.StateCommented}, // a comment does not withdraw an approval
		{Reviewer: "carol", State: review.StateApproved},
		{Reviewer: "carol", State: review.StateChangesRequested}, // a later change request does
		{Reviewer: "dave", State: review.StateCommented},
		{Reviewer: "erin", State: review.StateApproved},
		{Reviewer: "erin", State: review.StateDismissed},
		{Reviewer: "frank", State: review.StatePending},
		{Reviewer: "", State: review.StateApproved}, // a deleted account
		{Reviewer: "Alice", State: review.StateChangesRequested},
		{Reviewer: "alice", State: review.StateApproved}, // logins ignore case
	})
	want := []review.Review{
		{Reviewer: "alice", State: review.StateApproved},
		{Reviewer: "bob", State: review.StateApproved},
		{Reviewer: "carol", State: review.StateChangesRequested},
		{Reviewer: "dave", State: review.StateCommented},
		{Reviewer: "erin", State: review.StateDismissed},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Latest (-want +got):\n%s", diff)
	}
}

func record() *review.Record {
	return &review.Record{
		Source: "github", Repository: "acme/wm-firmware",
		Base:  &review.Point{Ref: "v3.1.1", SHA: sha('a')},
		Head:  review.Point{Ref: "v3.1.2", SHA: sha('d')},
		Notes: []string{"base: the previous release tag v3.1.1"},
		Commits: []review.Commit{
			{SHA: sha('b'), Author: "alice", Title: "Debounce the motion filter", PullRequests: []review.PullRequest{
				{Number: 12, Author: "alice", Merged: true, Reviews: []review.Review{
					{Reviewer: "bob", State: review.StateChangesRequested, SubmittedAt: "2026-11-01T09:00:00Z"},
					approved("bob"),
				}},
				{Number: 3, Author: "alice", Merged: false},
			}},
			{SHA: sha('c'), Author: "mallory", Title: "Hotfix pushed to main"},
			{SHA: sha('d'), AuthorName: "Release Bot", Title: "Bump version", PullRequests: []review.PullRequest{
				{Number: 14, Author: "carol", Merged: true, Reviews: []review.Review{approved("carol")}},
			}},
		},
	}
}

func TestEncodeReadRoundTrip(t *testing.T) {
	b, err := review.Encode(record())
	if err != nil {
		t.Fatal(err)
	}
	again, err := review.Encode(record())
	if err != nil || !bytes.Equal(b, again) {
		t.Fatalf("Encode is not stable: %v", err)
	}
	r, sum, err := review.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, b)
	}
	if got := r.Commits[0].PullRequests[0].Number; got != 3 {
		t.Errorf("pull requests not sorted by number: first is #%d", got)
	}
	want := evidence.ChangeSummary{
		Source: "github", Repository: "acme/wm-firmware", Base: "v3.1.1", Head: "v3.1.2",
		Commits: 3, Reviewed: 1, Unreviewed: 2,
		UnreviewedChanges: []evidence.UnreviewedChange{
			{SHA: sha('c'), Author: "mallory", Reason: review.ReasonNoPullRequest},
			{SHA: sha('d'), Author: "Release Bot", Reason: review.ReasonSelfApproved},
		},
	}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestEmptyRange(t *testing.T) {
	b, err := review.Encode(&review.Record{Source: "github", Repository: "acme/x", Base: &review.Point{Ref: "v1.0.0"}, Head: review.Point{Ref: "v1.0.0"}})
	if err != nil {
		t.Fatal(err)
	}
	_, sum, err := review.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Commits != 0 || sum.Unreviewed != 0 {
		t.Errorf("summary %+v, want no commits", sum)
	}
}

// TestReadRefusesForgedVerdicts: a record is re-judged from its reviews, so
// an edited verdict or approver list is caught, as is anything malformed.
func TestReadRefuses(t *testing.T) {
	good, err := review.Encode(record())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"verdict flipped", `"reviewed": false,
      "reason": "no pull request"`, `"reviewed": true`, "recorded as reviewed=true"},
		{"approver added", `"approvers": [
            "carol"
          ]`, `"approvers": ["carol", "dave"]`, "lists approvers"},
		{"unknown field", `"version": 1,`, `"version": 1, "approved": true,`, "unknown field"},
		{"short sha", sha('c'), "cccc", "full lower-case commit id"},
		{"bad state", `"state": "APPROVED"`, `"state": "LGTM"`, `review state "LGTM"`},
		{"newer version", `"version": 1,`, `"version": 2,`, "version 2"},
		{"trailing data", "\n}\n", "\n}\n{}", "after the JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := string(good)
			if !strings.Contains(s, tc.old) {
				t.Fatalf("fixture lacks %q:\n%s", tc.old, s)
			}
			s = strings.Replace(s, tc.old, tc.new, 1)
			_, _, err := review.Read(strings.NewReader(s))
			if err == nil {
				t.Fatal("Read accepts it")
			}
			if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (kind %s), want invalid containing %q", err, evidence.KindOf(err), tc.want)
			}
		})
	}
}
