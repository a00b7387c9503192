package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// config is the optional YAML config file: top-level scalars set global
// flags; a mapping named after a command sets that command's flags.
//
//	store: clickhouse://127.0.0.1:9000/duesight
//	gen:
//	  accounts: 20000
type config struct {
	path   string
	global map[string]string
	cmds   map[string]map[string]string
}

func (c config) lookup(cmd, name string, global bool) (string, bool) {
	if global {
		v, ok := c.global[name]
		return v, ok
	}
	v, ok := c.cmds[cmd][name]
	return v, ok
}

// loadConfig reads the config file. A missing file is an error only when
// the user named it explicitly (flag or DUESIGHT_CONFIG).
func (a *app) loadConfig(explicit bool) error {
	path := a.configPath
	if !explicit {
		if p := a.getenv("DUESIGHT_CONFIG"); p != "" {
			path, explicit = p, true
		}
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return usagef("config %s: %v", path, err)
	}
	c := config{path: path, global: map[string]string{}, cmds: map[string]map[string]string{}}
	if len(root.Content) == 0 {
		a.cfg = c
		return nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return usagef("config %s:%d: want a mapping of settings", path, top.Line)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch v.Kind {
		case yaml.ScalarNode:
			if !globalFlagNames[k.Value] {
				return usagef("config %s:%d: unknown global setting %q (want store, log-level, format, or a command section)", path, k.Line, k.Value)
			}
			c.global[k.Value] = v.Value
		case yaml.MappingNode:
			sec := map[string]string{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				kk, vv := v.Content[j], v.Content[j+1]
				if vv.Kind != yaml.ScalarNode {
					return usagef("config %s:%d: %s.%s: want a single value", path, kk.Line, k.Value, kk.Value)
				}
				sec[kk.Value] = vv.Value
			}
			c.cmds[k.Value] = sec
		default:
			return usagef("config %s:%d: %s: want a value or a section", path, k.Line, k.Value)
		}
	}
	for cmd, sec := range c.cmds {
		if err := checkSection(cmd, sec); err != nil {
			return usagef("config %s: %v", path, err)
		}
	}
	a.cfg = c
	return nil
}

// checkSection rejects sections and keys no command knows, so typos fail loudly.
func checkSection(cmd string, sec map[string]string) error {
	for _, c := range commands() {
		if c.name != cmd {
			continue
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		for k := range sec {
			if fs.Lookup(k) == nil {
				return fmt.Errorf("section %s: unknown setting %s", cmd, strconv.Quote(k))
			}
		}
		return nil
	}
	return fmt.Errorf("unknown section %q (not a command)", cmd)
}
