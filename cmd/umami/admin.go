package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/umamiai/umami"
	"github.com/umamiai/umami/platform"
)

// adminPlatform opens the store the flags name, for one admin command.
func adminPlatform(ctx context.Context, c *Config) (*platform.Platform, func() error, error) {
	store, err := openStore(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return platform.New(platform.Config{Store: store}), store.Close, nil
}

// parseAdmin parses flags that may come before or after positional arguments.
func parseAdmin(name string, args []string, stderr io.Writer, define func(*flag.FlagSet)) (*flag.FlagSet, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	define(fs)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			return fs, positional, nil
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c Config
	if _, _, err := parseAdmin("migrate", args, stderr, func(fs *flag.FlagSet) { storeFlags(fs, &c) }); err != nil {
		return err
	}
	store, err := openStore(ctx, &c)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return store.Close()
}

func orgs(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var c Config
	if len(args) == 0 {
		return fmt.Errorf("orgs: want create NAME or list")
	}
	_, pos, err := parseAdmin("orgs "+args[0], args[1:], stderr, func(fs *flag.FlagSet) { storeFlags(fs, &c) })
	if err != nil {
		return err
	}
	p, closeStore, err := adminPlatform(ctx, &c)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, closeStore) }()
	switch {
	case args[0] == "create" && len(pos) == 1:
		o, err := p.CreateOrg(ctx, pos[0])
		if err != nil {
			return friendly(err)
		}
		fmt.Fprintln(stdout, o.ID)
		return nil
	case args[0] == "list" && len(pos) == 0:
		list, err := p.ListOrgs(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, o := range list {
			enc.Encode(map[string]any{"org_id": o.ID, "name": o.Name, "created_at": o.CreatedAt})
		}
		return nil
	}
	return fmt.Errorf("orgs: want create NAME or list")
}

func keys(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var c Config
	var org, name, scopes string
	var expiresIn time.Duration
	if len(args) == 0 {
		return fmt.Errorf("keys: want create, list or revoke")
	}
	_, pos, err := parseAdmin("keys "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		storeFlags(fs, &c)
		fs.StringVar(&org, "org", "", "org id")
		fs.StringVar(&name, "name", "", "key name")
		fs.StringVar(&scopes, "scopes", "", "comma-separated scopes: "+umami.JoinScopes(umami.Scopes))
		fs.DurationVar(&expiresIn, "expires-in", 0, "lifetime, e.g. 720h; 0 = no expiry")
	})
	if err != nil {
		return err
	}
	var sc []umami.Scope
	if args[0] == "create" { // check the flags before touching the database
		if scopes == "" {
			return fmt.Errorf("keys create: --scopes is required (%s)", umami.JoinScopes(umami.Scopes))
		}
		if sc, err = umami.ParseScopes(scopes); err != nil {
			return friendly(err)
		}
	}
	p, closeStore, err := adminPlatform(ctx, &c)
	if err != nil {
		return err
	}
	defer func() { err = joinClose(err, closeStore) }()
	switch {
	case args[0] == "create" && len(pos) == 0:
		k, err := p.CreateKey(ctx, org, name, sc, expiresIn)
		if err != nil {
			return friendly(err)
		}
		fmt.Fprintln(stdout, k.Secret)
		return nil
	case args[0] == "list" && len(pos) == 0:
		list, err := p.ListKeys(ctx, org)
		if err != nil {
			return friendly(err)
		}
		enc := json.NewEncoder(stdout)
		for _, k := range list {
			enc.Encode(keyJSON(k))
		}
		return nil
	case args[0] == "revoke" && len(pos) == 1:
		k, err := p.RevokeKey(ctx, pos[0])
		if err != nil {
			return friendly(err)
		}
		return json.NewEncoder(stdout).Encode(keyJSON(k))
	}
	return fmt.Errorf("keys: want create --org ID --name NAME --scopes S, list --org ID, or revoke KEY_ID")
}

func keyJSON(k *umami.APIKey) map[string]any {
	return map[string]any{"key_id": k.ID, "org_id": k.OrgID, "name": k.Name, "prefix": k.Prefix,
		"scopes": k.Scopes, "created_at": k.CreatedAt, "last_used_at": k.LastUsedAt,
		"expires_at": k.ExpiresAt, "revoked_at": k.RevokedAt}
}

// friendly returns an application error's message alone.
func friendly(err error) error {
	if c := umami.ErrorCode(err); c != umami.EInternal {
		return fmt.Errorf("%s", umami.ErrorMessage(err))
	}
	return err
}

func joinClose(err error, closeFn func() error) error {
	if cerr := closeFn(); err == nil {
		return cerr
	}
	return err
}

func version(stdout io.Writer) error {
	v := umami.Version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	fmt.Fprintln(stdout, "umami", v)
	return nil
}
