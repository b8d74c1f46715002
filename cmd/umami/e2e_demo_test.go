package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo: serve --demo prints the guide's four exports, saves them in
// <data-dir>/demo.env (0600), and on a restart prints the same lines without
// creating a second org.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)

	first, d := startDemo(t, "serve --demo (first)", dir, port)
	path := filepath.Join(dir, "demo.env")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("demo.env: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("demo.env mode = %#o, want 0600", mode)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(d.Lines, "\n") + "\n"; string(saved) != want {
		t.Errorf("demo.env =\n%s\nwant the printed exports\n%s", saved, want)
	}
	if strings.Contains(first.stderr.String(), d.APIKey) {
		t.Errorf("the demo API key appears on stderr (logs); it should only be on stdout and in demo.env")
	}

	// The exports are usable: the key has every scope and the version is
	// a published test/echo version of the org.
	a := newAPI(t, d.BaseURL, d.APIKey)
	status, v := a.do("GET", "/api/v1/agent-versions/"+d.AgentVersionID, nil)
	if status != http.StatusOK {
		t.Fatalf("GET demo agent version: status %d, body %v", status, v)
	}
	if v["status"] != "published" || v["org_id"] != d.OrgID || v["model"] != "test/echo" {
		t.Errorf("demo version = %v, want published, org %s, model test/echo", v, d.OrgID)
	}
	if code, took := first.stop(); code != 0 {
		t.Errorf("first server: exit code on SIGTERM = %d, want 0", code)
	} else {
		t.Logf("first server exited 0 in %v after SIGTERM", took.Round(time.Millisecond))
	}

	second := startServer(t, "serve --demo (second)", dir, port, "--demo")
	if out := second.waitStdoutLines(4); out != string(saved) {
		t.Errorf("second start printed\n%s\nwant the same four lines as the first\n%s", out, saved)
	}
	if status, _ := newAPI(t, d.BaseURL, d.APIKey).do("GET", "/api/v1/agent-versions/"+d.AgentVersionID, nil); status != http.StatusOK {
		t.Errorf("after restart, GET demo agent version with the demo key: status %d, want 200", status)
	}
	if code, _ := second.stop(); code != 0 {
		t.Errorf("second server: exit code on SIGTERM = %d, want 0", code)
	}

	// Moved to another port, the demo prints its new address with the same key.
	newPort := freePort(t)
	third := startServer(t, "serve --demo (new port)", dir, newPort, "--demo")
	wantMoved := strings.Replace(string(saved), fmt.Sprintf(":%d\"", port), fmt.Sprintf(":%d\"", newPort), 1)
	if out := third.waitStdoutLines(4); out != wantMoved || wantMoved == string(saved) {
		t.Errorf("start on a new port printed\n%s\nwant\n%s", out, wantMoved)
	}
	if code, _ := third.stop(); code != 0 {
		t.Errorf("third server: exit code on SIGTERM = %d, want 0", code)
	}

	list := mustCLI(t, "orgs", "list", "--data-dir", dir)
	lines := strings.Split(strings.TrimSpace(list.stdout), "\n")
	if len(lines) != 1 {
		t.Fatalf("orgs list after two demo starts: %d orgs, want 1\n%s", len(lines), list.stdout)
	}
	var org map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &org); err != nil {
		t.Fatalf("orgs list line %q: %v", lines[0], err)
	}
	if org["org_id"] != d.OrgID {
		t.Errorf("the one org is %v, want ORG_ID %s", org["org_id"], d.OrgID)
	}
}

// The guide's commands, as they appear in developer-guide.txt ("Agent runs
// API"). The script in testdata must contain each of them verbatim.
var guideCommands = []string{
	`curl -sS "$BASE_URL/api/v1/agent-runs" \
-X POST \
-H "Authorization: Bearer $UMAMI_API_KEY" \
-H "Content-Type: application/json" \
--data "{\"org_id\":\"$ORG_ID\",\"agent_version_id\":\"$AGENT_VERSION_ID\",\"input\":\"Draft a concise incident summary for leadership.\"}"`,
	`curl -sS "$BASE_URL/api/v1/agent-runs/$RUN_ID" \
-H "Authorization: Bearer $UMAMI_API_KEY"`,
	`while true; do
res=$(curl -sS "$BASE_URL/api/v1/agent-runs/$RUN_ID" -H "Authorization: Bearer $UMAMI_API_KEY");
status=$(echo "$res" | jq -r ".status");
echo "status=$status";
if [ "$status" = "succeeded" ] || [ "$status" = "failed" ]; then
echo "$res" | jq;
break;
fi;
sleep 2;
done`,
}

// guidePath is the developer guide in the workspace, next to the module.
const guidePath = "../../../shared/spec/developer-guide.txt"

// TestGuidePollingLoop runs the developer guide's curl commands and bash
// polling loop as written, with serve --demo's exports in the environment.
func TestGuidePollingLoop(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed: %v (CI must run the guide's loop)", tool, err)
			}
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	script, err := os.ReadFile("testdata/guide-agent-runs.sh")
	if err != nil {
		t.Fatal(err)
	}
	guide, guideErr := os.ReadFile(guidePath)
	if guideErr != nil {
		t.Logf("developer guide not found at %s (%v); not checking the commands against it", guidePath, guideErr)
	}
	for i, c := range guideCommands {
		if !strings.Contains(string(script), c) {
			t.Errorf("testdata/guide-agent-runs.sh does not contain guide command %d verbatim:\n%s", i+1, c)
		}
		if guideErr == nil && !strings.Contains(string(guide), c) {
			t.Errorf("the developer guide no longer contains command %d verbatim (update this test and its script):\n%s", i+1, c)
		}
	}

	dir := t.TempDir()
	_, d := startDemo(t, "serve --demo", dir, freePort(t))
	// The environment is exactly what the demo printed: source its lines.
	exports := filepath.Join(t.TempDir(), "exports.sh")
	if err := os.WriteFile(exports, []byte(strings.Join(d.Lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", `. "$1" && . "$2"`, "bash", exports, "testdata/guide-agent-runs.sh")
	cmd.Env = childEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	t.Logf("guide script took %v", time.Since(start).Round(time.Millisecond))
	if err != nil || ctx.Err() != nil || stderr.Len() > 0 {
		t.Fatalf("guide script: err %v (ctx %v)\nstdout:\n%s\nstderr:\n%s", err, ctx.Err(), out, stderr.String())
	}
	sections := splitSections(string(out))

	var created map[string]any
	if err := json.Unmarshal([]byte(sections["create"]), &created); err != nil {
		t.Fatalf("create curl output is not JSON: %v\n%s", err, out)
	}
	runID, _ := created["run_id"].(string)
	if created["status"] != "queued" || !uuidRE.MatchString(runID) || created["org_id"] != d.OrgID ||
		created["agent_version_id"] != d.AgentVersionID {
		t.Errorf("create output = %v, want a queued run of the demo version", created)
	}
	if got := strings.TrimSpace(sections["export"]); got != "RUN_ID="+runID {
		t.Errorf("export section = %q, want RUN_ID=%s", got, runID)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(sections["get"]), &got); err != nil {
		t.Fatalf("GET curl output is not JSON: %v\n%s", err, out)
	}
	if got["run_id"] != runID {
		t.Errorf("GET curl returned run %v, want %s", got["run_id"], runID)
	}

	// The loop prints status=... lines, then the final run via jq.
	poll := sections["poll"]
	var statuses []string
	rest := poll
	for strings.HasPrefix(rest, "status=") {
		line, after, _ := strings.Cut(rest, "\n")
		statuses = append(statuses, line)
		rest = after
	}
	if len(statuses) == 0 || statuses[len(statuses)-1] != "status=succeeded" {
		t.Fatalf("polling loop printed %q, want it to end with status=succeeded\n%s", statuses, out)
	}
	for _, s := range statuses[:len(statuses)-1] {
		if s != "status=queued" && s != "status=running" {
			t.Errorf("polling loop printed %q before succeeding", s)
		}
	}
	var final map[string]any
	if err := json.Unmarshal([]byte(rest), &final); err != nil {
		t.Fatalf("the loop's final jq output is not a JSON object: %v\n%s", err, rest)
	}
	if final["run_id"] != runID || final["status"] != "succeeded" ||
		final["output"] != "Echo: Draft a concise incident summary for leadership." || final["error"] != nil {
		t.Errorf("final run = %v\nwant run %s succeeded with output %q and error null", final, runID,
			"Echo: Draft a concise incident summary for leadership.")
	}
	if !strings.Contains(rest, "\n  \"") {
		t.Errorf("the loop's `jq` output is not pretty-printed:\n%s", rest)
	}
}

// splitSections splits the script's output at its "### name" markers.
func splitSections(out string) map[string]string {
	sections := map[string]string{}
	name := ""
	for _, part := range strings.SplitAfter(out, "\n") {
		if n, ok := strings.CutPrefix(part, "### "); ok {
			name = strings.TrimSpace(n)
			continue
		}
		sections[name] += part
	}
	return sections
}
