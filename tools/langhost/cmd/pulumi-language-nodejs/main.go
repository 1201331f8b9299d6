// Command pulumi-language-nodejs is a minimal Pulumi language host for Node.js
// programs, TypeScript ones included. zomro-pulumi builds its own because the
// upstream host's module is not served by the Go module proxy;
// scripts/ensure-nodejs-host.sh builds it into the cache beside the CLI.
//
// The program's runner is the one the SDK ships: it runs
// `node <node_modules>/@pulumi/pulumi/cmd/run` from the program's own
// dependencies, which loads a TypeScript program with the TypeScript compiler
// the program depends on (and the ts-node that @pulumi/pulumi vendors), as the
// upstream host does. Dependencies are installed with npm.
// Not implemented: yarn, pnpm and bun, RunPlugin (Node.js plugins and policy
// packs), code generation, Pack/Link, and plugin discovery from installed
// packages (the engine finds plugins on PATH or installed, as for Python).
//
// Its command line and lifetime (it does not outlive the engine that started
// it) are package langhost's, shared with the Python host.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"
	"zomro-pulumi.invalid/tools/langhost"
)

// version is set with -ldflags "-X main.version=vX.Y.Z".
var version = "v0.0.0-dev"

// runner is the SDK's program runner, relative to a node_modules folder.
var runner = filepath.Join("@pulumi", "pulumi", "cmd", "run")

type host struct {
	langhost.Basics
	engine  string
	tracing string
}

// option is a runtime option of Pulumi.yaml as text ("" when not set).
func option(info *pulumirpc.ProgramInfo, name string) string {
	v, ok := info.GetOptions().GetFields()[name]
	if !ok {
		return ""
	}
	if _, isBool := v.GetKind().(*structpb.Value_BoolValue); isBool {
		return strconv.FormatBool(v.GetBoolValue())
	}
	return v.GetStringValue()
}

// programDir is where the program and its package.json are.
func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	return fallback
}

// findRunner looks for the SDK's runner in the node_modules folders from dir up,
// as Node.js resolves a package.
func findRunner(dir string) (string, bool) {
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules", runner)
		if _, err := os.Stat(filepath.Join(candidate, "index.js")); err == nil {
			return candidate, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("'node' is not on PATH (Node.js runs this program)")
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
		Metadata:   map[string]string{"packagemanager": "npm"},
	}, nil
}

// GetProgramDependencies lists the program's package.json dependencies at the
// versions installed in its node_modules.
func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	var manifest struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := readJSON(filepath.Join(dir, "package.json"), &manifest); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(manifest.Dependencies)+len(manifest.DevDependencies))
	for name := range manifest.Dependencies {
		names = append(names, name)
	}
	for name := range manifest.DevDependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]*pulumirpc.DependencyInfo, 0, len(names))
	for _, name := range names {
		var installed struct {
			Version string `json:"version"`
		}
		if err := readJSON(filepath.Join(dir, "node_modules", name, "package.json"), &installed); err != nil {
			return nil, fmt.Errorf("%s is in package.json but not installed: run npm install", name)
		}
		out = append(out, &pulumirpc.DependencyInfo{Name: name, Version: installed.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: out}, nil
}

func readJSON(path string, into any) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(text, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// InstallDependencies runs `npm install` in the program's folder.
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDir(req.GetInfo(), req.GetDirectory())
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("'npm' is not on PATH: it installs the program's dependencies")
	}
	cmd := exec.CommandContext(server.Context(), npm, "install", "--no-audit", "--no-fund")
	cmd.Dir = dir
	cmd.Stdout = langhost.StreamWriter(func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	})
	cmd.Stderr = langhost.StreamWriter(func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	})
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install in %s: %w", dir, err)
	}
	return nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	entry := "."
	if info != nil && info.GetEntryPoint() != "" {
		entry = info.GetEntryPoint()
	}
	root := req.GetPwd()
	if info != nil && info.GetRootDirectory() != "" {
		root = info.GetRootDirectory()
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "'node' is not on PATH: Node.js runs this program"}, nil
	}
	run, ok := findRunner(dir)
	if !ok {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(
			"@pulumi/pulumi is not installed for the program in %s: run npm install there", dir)}, nil
	}

	env, err := langhost.Config(req)
	if err != nil {
		return nil, err
	}
	typescript := "true"
	if option(info, "typescript") == "false" {
		typescript = "false"
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+typescript)
	if tsconfig := option(info, "tsconfig"); tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}

	args := strings.Fields(option(info, "nodeargs"))
	args = append(args, run,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engine,
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+dir,
		"--parallel="+strconv.Itoa(int(req.GetParallel())),
		"--organization="+req.GetOrganization(),
		"--root-directory="+root,
	)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if h.tracing != "" {
		args = append(args, "--tracing="+h.tracing)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
	return langhost.Outcome(cmd, cmd.Run())
}

func main() {
	langhost.Main(langhost.Host{
		Name:    "pulumi-language-nodejs",
		Version: version,
		Ignored: []string{"root", "typescript", "tsconfig", "nodeargs", "packagemanager"},
		New: func(args langhost.Args) (pulumirpc.LanguageRuntimeServer, error) {
			return &host{
				Basics: langhost.Basics{Version: version},
				engine: args.Engine, tracing: args.Tracing,
			}, nil
		},
	})
}
