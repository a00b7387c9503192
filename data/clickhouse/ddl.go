package clickhouse

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema step.
type migration struct {
	Version int    // from the file name prefix (0001 → 1)
	Name    string // file name without extension
	Text    string // template source
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// loadMigrations returns the embedded migrations in version order. Versions
// must run 1, 2, 3, … without gaps.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must look like 0001_what.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		out = append(out, migration{Version: v, Name: strings.TrimSuffix(e.Name(), ".sql"), Text: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %q: version %d out of sequence (want %d)", m.Name, m.Version, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no embedded migrations")
	}
	return out, nil
}

// ddl renders SQL for one database, in single-server or cluster mode.
type ddl struct {
	DB      string // database name (validated identifier)
	Cluster string // cluster name from the server's remote_servers; "" = single server
	ZKPath  string // ZooKeeper prefix of replicated tables (cluster mode only)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validIdent reports whether s can be used unquoted-safe inside backticks.
func validIdent(s string) bool { return len(s) <= 128 && identRE.MatchString(s) }

func quoteIdent(s string) string { return "`" + s + "`" }

// on is " ON CLUSTER `c`" in cluster mode.
func (d ddl) on() string {
	if d.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(d.Cluster)
}

// localName is the name of the table that physically holds a sharded kind.
func (d ddl) localName(t string) string {
	if d.Cluster == "" {
		return t
	}
	return t + "_local"
}

// local is the qualified physical table of a sharded kind.
func (d ddl) local(t string) string { return quoteIdent(d.DB) + "." + quoteIdent(d.localName(t)) }

// table is the qualified table that readers and writers use: the MergeTree
// table itself, or the Distributed table in cluster mode.
func (d ddl) table(t string) string { return quoteIdent(d.DB) + "." + quoteIdent(t) }

// engine is the engine clause of a sharded kind's physical table.
func (d ddl) engine(t string) string {
	if d.Cluster == "" {
		return "MergeTree"
	}
	return fmt.Sprintf("ReplicatedMergeTree('%s/{shard}/%s/%s', '{replica}')", d.ZKPath, d.DB, d.localName(t))
}

// distributed is the statement creating the Distributed table over a
// sharded kind's physical tables (cluster mode), or "".
func (d ddl) distributed(t string) string {
	if d.Cluster == "" {
		return ""
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s ENGINE = Distributed(%s, %s, %s, account_hash);",
		d.table(t), d.on(), d.local(t), quoteIdent(d.Cluster), quoteIdent(d.DB), quoteIdent(d.localName(t)))
}

// metaEngine is the engine of a small table that every node holds in full:
// in cluster mode all nodes are replicas of one ZooKeeper path (no {shard}).
func (d ddl) metaEngine(t string) string {
	if d.Cluster == "" {
		return "MergeTree"
	}
	return fmt.Sprintf("ReplicatedMergeTree('%s/all/%s/%s', '{replica}')", d.ZKPath, d.DB, t)
}

// in is the IN operator for subqueries over snapshots and key lists: GLOBAL
// IN in cluster mode, so that the initiator evaluates the set once and ships
// it to every shard.
func (d ddl) in() string {
	if d.Cluster == "" {
		return "IN"
	}
	return "GLOBAL IN"
}

func (d ddl) funcs() template.FuncMap {
	return template.FuncMap{
		"on":          d.on,
		"local":       d.local,
		"engine":      d.engine,
		"distributed": d.distributed,
		"meta":        d.table,
		"metaEngine":  d.metaEngine,
	}
}

// render executes a migration template and splits it into statements.
func (d ddl) render(m migration) ([]string, error) {
	tpl, err := template.New(m.Name).Funcs(d.funcs()).Option("missingkey=error").Parse(m.Text)
	if err != nil {
		return nil, fmt.Errorf("parse migration %s: %w", m.Name, err)
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, nil); err != nil {
		return nil, fmt.Errorf("render migration %s: %w", m.Name, err)
	}
	return splitStatements(buf.String()), nil
}

// splitStatements splits SQL at ";" ending a line, dropping "--" comment
// lines and empty statements.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for line := range strings.Lines(sql) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		if strings.HasSuffix(trimmed, ";") {
			cur.WriteString(strings.TrimSuffix(strings.TrimRight(line, " \t\r\n"), ";"))
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}

// bootstrap returns the statements that must exist before migrations run:
// the database and the schema_migrations table.
func (d ddl) bootstrap() []string {
	return []string{
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s%s", quoteIdent(d.DB), d.on()),
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s (\n    version    UInt32,\n    name       String,\n"+
			"    applied_at DateTime('UTC')\n) ENGINE = %s\nORDER BY version",
			d.table("schema_migrations"), d.on(), d.metaEngine("schema_migrations")),
	}
}
