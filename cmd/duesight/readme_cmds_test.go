//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeCommand is one shell command of a README ```sh block, as written:
// a line with its backslash continuations and here-document.
type readmeCommand struct {
	block, line int // block number and README line, from 1
	text        string
}

var heredocRE = regexp.MustCompile(`<<-?\s*['"]?(\w+)['"]?`)

// readmeCommands splits the ```sh blocks of a README into commands,
// leaving out blank and comment lines.
func readmeCommands(md string) ([]readmeCommand, error) {
	lines := strings.Split(md, "\n")
	var out []readmeCommand
	block := 0
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		block++
		start := i + 1
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fmt.Errorf("README.md:%d: sh block is not closed", start)
			}
			trimmed := strings.TrimSpace(lines[i])
			if trimmed == "```" {
				break
			}
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			c := readmeCommand{block: block, line: i + 1, text: lines[i]}
			last := lines[i]
			for strings.HasSuffix(strings.TrimRight(last, " \t"), `\`) && i+1 < len(lines) {
				i++
				last = lines[i]
				c.text += "\n" + last
			}
			if m := heredocRE.FindStringSubmatch(c.text); m != nil {
				for {
					i++
					if i == len(lines) {
						return nil, fmt.Errorf("README.md:%d: here-document %s is not closed", c.line, m[1])
					}
					c.text += "\n" + lines[i]
					if strings.TrimSpace(lines[i]) == m[1] {
						break
					}
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func TestReadmeCommandParsing(t *testing.T) {
	md := "text\n```sh\n# a comment\nduesight stats   # counts\n\nduesight a \\\n  --b c\n" +
		"python3 - <<'PY'   # x\nprint(1)\n```\nPY\nduesight done\n```\n```yaml\nnot: sh\n```\n```sh\nduesight two\n```\n"
	got, err := readmeCommands(md)
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeCommand{
		{1, 4, "duesight stats   # counts"},
		{1, 6, "duesight a \\\n  --b c"},
		{1, 8, "python3 - <<'PY'   # x\nprint(1)\n```\nPY"},
		{1, 12, "duesight done"},
		{2, 18, "duesight two"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("commands\n%+v\nwant\n%+v", got, want)
	}
	if _, err := readmeCommands("```sh\nduesight x\n"); err == nil {
		t.Fatal("an unclosed block was accepted")
	}
}

// TestReadmeCommands runs every command of the README's ```sh blocks as
// written, in order, in one fresh directory (so that each block sees what
// the earlier ones made, as a reader following the README would), each
// with bash -euo pipefail. `duesight` (and `go run ./cmd/duesight`) is the
// binary built from this tree; data/ is the repository's (sample files).
// Only the environment is the test's: DUESIGHT_DEMO_ACCOUNTS=300 keeps the
// demo small, DUESIGHT_DEMO_ADDR and DUESIGHT_SERVE_ADDR pick free ports,
// and other DUESIGHT_* variables are cleared. Shell state (cd, export)
// does not carry from one command to the next.
//
//   - `demo` and `serve` are started, probed (/healthz, /readyz, and the
//     curl commands demo prints must answer JSON, not a problem) and
//     stopped with SIGTERM, which must end them cleanly.
//   - Commands naming clickhouse:// run against a fresh database of the
//     test server (DUESIGHT_TEST_CLICKHOUSE) and are skipped without one,
//     unless DUESIGHT_REQUIRE_CLICKHOUSE=1.
//   - Commands using python3 or models import-xgboost need Debian's
//     python3-xgboost and pandas (python3 is /usr/bin/python3); skipped
//     without them unless DUESIGHT_REQUIRE_PEERS=1.
//   - `.ci/test` is not run (it runs this test): it must be an executable
//     bash script that parses (bash -n).
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the README (about a minute)")
	}
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := readmeCommands(string(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) < 10 {
		t.Fatalf("the README has %d sh commands; the parser sees too few", len(cmds))
	}

	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "duesight"), "./cmd/duesight")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	peers := exec.Command(xgbPython, "-c", "import xgboost, pandas").Run() == nil
	if peers {
		if err := os.Symlink(xgbPython, filepath.Join(bin, "python3")); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "data"), filepath.Join(work, "data")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"DUESIGHT_DEMO_ACCOUNTS=300", "DUESIGHT_DEMO_ADDR=" + freeAddr(t), "DUESIGHT_SERVE_ADDR=" + freeAddr(t)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DUESIGHT_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	chDSN := ""
	if os.Getenv("DUESIGHT_TEST_CLICKHOUSE") != "" {
		chDSN = clickhouseDSN(t)
	}
	chURL := regexp.MustCompile(`clickhouse://[^\s'"]+`)

	ran := 0
	for _, c := range cmds {
		where := fmt.Sprintf("README.md:%d (block %d)", c.line, c.block)
		text := strings.ReplaceAll(c.text, "go run ./cmd/duesight", "duesight")
		first := strings.TrimSpace(text)
		switch {
		case strings.HasPrefix(first, ".ci/test"):
			st, err := os.Stat(filepath.Join(root, ".ci", "test"))
			if err != nil || st.Mode().Perm()&0o111 == 0 {
				t.Fatalf("%s: .ci/test is missing or not executable: %v", where, err)
			}
			if out, err := exec.Command("bash", "-n", filepath.Join(root, ".ci", "test")).CombinedOutput(); err != nil {
				t.Fatalf("%s: .ci/test does not parse: %v\n%s", where, err, out)
			}
			t.Logf("%s: .ci/test checked (bash -n), not run: it runs this test", where)
			continue
		case strings.Contains(text, "clickhouse://"):
			if chDSN == "" {
				if os.Getenv("DUESIGHT_REQUIRE_CLICKHOUSE") == "1" {
					t.Fatalf("%s needs ClickHouse, but DUESIGHT_TEST_CLICKHOUSE is not set", where)
				}
				t.Logf("%s: skipped (no ClickHouse test server): %s", where, first)
				continue
			}
			text = chURL.ReplaceAllString(text, chDSN)
		case strings.Contains(text, "python3") || strings.Contains(text, "import-xgboost"):
			if !peers {
				if os.Getenv("DUESIGHT_REQUIRE_PEERS") == "1" {
					t.Fatalf("%s needs python3-xgboost and pandas (DUESIGHT_REQUIRE_PEERS=1)", where)
				}
				t.Logf("%s: skipped (no python3-xgboost): %s", where, strings.SplitN(first, "\n", 2)[0])
				continue
			}
		}
		ran++
		if longRunningRE.MatchString(strings.SplitN(text, "\n", 2)[0]) && !strings.Contains(text, "--no-serve") {
			runServer(t, where, text, work, env)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", text)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s failed: %v\n$ %s\n%s", where, err, text, tail(out, 4000))
		}
	}
	t.Logf("ran %d README commands", ran)
}

// longRunningRE matches the commands that serve until stopped.
var longRunningRE = regexp.MustCompile(`^\s*(exec\s+)?duesight\b[^#]*\s(serve|demo)(\s|$)`)

// runServer starts a README command that serves (demo, serve), waits until
// it is ready, probes it and stops it with SIGTERM, which must end it with
// exit status 0.
func runServer(t *testing.T, where, text, dir string, env []string) {
	t.Helper()
	var out syncBuffer
	cmd := exec.Command("bash", "-c", "exec "+strings.TrimSpace(text))
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s\n$ %s\n%s", where, fmt.Sprintf(format, args...), text, tail([]byte(out.String()), 4000))
	}
	var base string
	deadline := time.Now().Add(5 * time.Minute)
	for base == "" {
		if m := listenRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			stopped = true
			fail("exited before listening: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			fail("not listening after 5 minutes")
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (int, string) {
		resp, err := client.Get(base + path)
		if err != nil {
			fail("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for {
		if code, _ := get("/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			fail("not ready after 5 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		fail("/healthz: %d %s", code, body)
	}
	if code, body := get("/v1/openapi.json"); code != http.StatusOK || !strings.Contains(body, `"openapi"`) {
		fail("/v1/openapi.json: %d", code)
	}
	// The curl commands a command prints (demo's "try:") must work.
	curls := 0
	lines := strings.Split(out.String(), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		c := exec.Command("bash", "-euo", "pipefail", "-c", line)
		c.Dir, c.Env = dir, env
		body, err := c.Output()
		var doc map[string]any
		if err != nil || json.Unmarshal(body, &doc) != nil || doc["status"] != nil && doc["title"] != nil {
			fail("printed command %q: %v\n%s", line, err, body)
		}
		curls++
	}
	if longRunningRE.FindStringSubmatch(text)[2] == "demo" && curls < 2 {
		fail("demo printed %d curl commands, want the sample requests", curls)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			fail("did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		fail("did not stop within 60s of SIGTERM")
	}
	t.Logf("%s: served at %s, %d printed curl commands answered, stopped cleanly", where, base, curls)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}
