// Command pulumi-language-python is a minimal Pulumi language host for Python
// programs. zomro-pulumi builds its own because the upstream host's module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not
// served by the Go module proxy; scripts/ensure-pulumi.sh builds this one next
// to the Pulumi CLI.
//
// It serves the LanguageRuntime gRPC protocol and delegates all Python work to
// github.com/pulumi/pulumi/sdk/v3/python/toolchain (the same toolchain code the
// CLI ships) and to the pulumi-language-python-exec script from the SDK module.
// Not implemented: RunPlugin (Python-based plugins/policy packs), code
// generation, Pack/Link, and plugin discovery from installed packages.
//
// Its command line and lifetime (it does not outlive the engine that started
// it) are tools/langhost's, shared with the Node.js host.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"zomro-pulumi.invalid/tools/langhost"
)

// version is set with -ldflags "-X main.version=vX.Y.Z".
var version = "v0.0.0-dev"

type host struct {
	langhost.Basics
	execPath string
	engine   string
	tracing  string
}

func stringOption(info *pulumirpc.ProgramInfo, name string) string {
	if info == nil || info.GetOptions() == nil {
		return ""
	}
	if v, ok := info.GetOptions().GetFields()[name]; ok {
		return v.GetStringValue()
	}
	return ""
}

func toolchainName(info *pulumirpc.ProgramInfo) string {
	if name := stringOption(info, "toolchain"); name != "" {
		return name
	}
	return "auto"
}

func resolve(info *pulumirpc.ProgramInfo, pwd string) (toolchain.Toolchain, error) {
	opts := toolchain.PythonOptions{Root: pwd, ProgramDir: pwd}
	if info != nil {
		if info.GetRootDirectory() != "" {
			opts.Root = info.GetRootDirectory()
		}
		if info.GetProgramDirectory() != "" {
			opts.ProgramDir = info.GetProgramDirectory()
		}
	}
	opts.Virtualenv = stringOption(info, "virtualenv")
	switch tc := stringOption(info, "toolchain"); tc {
	case "", "auto":
		opts.Toolchain = toolchain.Auto
	case "pip":
		opts.Toolchain = toolchain.Pip
	case "poetry":
		opts.Toolchain = toolchain.Poetry
	case "uv":
		opts.Toolchain = toolchain.Uv
	default:
		return nil, fmt.Errorf("unsupported python toolchain option %q", tc)
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	dir := ""
	if req.GetInfo() != nil {
		dir = req.GetInfo().GetProgramDirectory()
	}
	tc, err := resolve(req.GetInfo(), dir)
	if err != nil {
		return nil, err
	}
	about, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: about.PythonExecutable,
		Version:    about.PythonVersion.String(),
		Metadata:   map[string]string{"toolchain": toolchainName(req.GetInfo())},
	}, nil
}

func (h *host) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolve(req.GetInfo(), req.GetPwd())
	if err != nil {
		return nil, err
	}
	deps, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	out := make([]*pulumirpc.DependencyInfo, 0, len(deps))
	for _, d := range deps {
		out = append(out, &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: out}, nil
}

func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetDirectory()
	if req.GetInfo() != nil && req.GetInfo().GetProgramDirectory() != "" {
		dir = req.GetInfo().GetProgramDirectory()
	}
	tc, err := resolve(req.GetInfo(), dir)
	if err != nil {
		return err
	}
	stdout := langhost.StreamWriter(func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	})
	stderr := langhost.StreamWriter(func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	})
	return tc.InstallDependencies(server.Context(), dir, req.GetUseLanguageVersionTools(), true, stdout, stderr)
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	program := req.GetProgram() //nolint:staticcheck // fallback for engines without ProgramInfo
	root := req.GetPwd()
	if info != nil {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
		root = info.GetRootDirectory()
	}
	tc, err := resolve(info, req.GetPwd())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	if checker := stringOption(info, "typechecker"); checker != "" {
		if checker != "mypy" && checker != "pyright" {
			return nil, fmt.Errorf("unsupported typechecker option %q", checker)
		}
		cmd, err := tc.ModuleCommand(ctx, checker, filepath.Dir(program))
		if err != nil {
			return nil, err
		}
		cmd.Dir, cmd.Stdout, cmd.Stderr = req.GetPwd(), os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return &pulumirpc.RunResponse{Error: checker + " type checking failed", Bail: true}, nil
		}
	}

	env, err := langhost.Config(req)
	if err != nil {
		return nil, err
	}

	args := []string{
		"-u", h.execPath,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engine,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--organization", req.GetOrganization(),
		"--root_directory", root,
	}
	if h.tracing != "" {
		args = append(args, "--tracing", h.tracing)
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = req.GetPwd(), os.Stdout, os.Stderr

	return langhost.Outcome(cmd, cmd.Run())
}

func main() {
	langhost.Main(langhost.Host{
		Name:    "pulumi-language-python",
		Version: version,
		Ignored: []string{"root", "virtualenv", "typechecker", "toolchain", "binary"},
		New: func(args langhost.Args) (pulumirpc.LanguageRuntimeServer, error) {
			execPath, err := findExec()
			if err != nil {
				return nil, err
			}
			return &host{
				Basics:   langhost.Basics{Version: version},
				execPath: execPath, engine: args.Engine, tracing: args.Tracing,
			}, nil
		},
	})
}

// findExec finds pulumi-language-python-exec next to this host or on PATH.
func findExec() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	execPath := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
	if _, err := os.Stat(execPath); err == nil {
		return execPath, nil
	}
	if p, err := exec.LookPath("pulumi-language-python-exec"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("pulumi-language-python-exec not found next to %s or on PATH", self)
}
