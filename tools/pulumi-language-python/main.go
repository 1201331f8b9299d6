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
// It does not outlive the engine that started it. The engine passes its own
// gRPC address as the first argument and starts the host as its child, in a
// process group of the host's own, so killing the engine's group (a CI job's
// timeout, kill -9) does not reach the host. The host therefore stops by itself
// when its parent process is gone (it is re-parented, so the parent pid it sees
// changes; checked every parentPoll), when the engine's address stops answering
// gRPC health checks (every engineHealthPoll, as the upstream host does), or on
// SIGINT. Stopping cancels every call in flight, which kills the Python program
// it runs, and the process exits within shutdownGrace.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags "-X main.version=vX.Y.Z".
var version = "v0.0.0-dev"

// exitCodeUserActionable is what pulumi-language-python-exec exits with after
// it has already shown the user an error.
const exitCodeUserActionable = 32

const (
	// parentPoll is how often the host checks that its parent is still there.
	parentPoll = 250 * time.Millisecond
	// engineHealthPoll is how often the engine's gRPC health is checked.
	engineHealthPoll = 5 * time.Minute
	// shutdownGrace bounds the wait for calls in flight once the host stops.
	shutdownGrace = 5 * time.Second
)

// stopper cancels the host's lifetime once, remembering why.
type stopper struct {
	once   sync.Once
	cancel context.CancelFunc
	reason string
}

func (s *stopper) stop(reason string) {
	s.once.Do(func() {
		s.reason = reason
		s.cancel()
	})
}

// watchParent stops the host once its parent process is no longer the one that
// started it. A process whose parent exits is re-parented (to init or to a
// subreaper), so the parent pid it sees changes. Where that never happens
// (Windows) or the host was started by init itself, the health check remains.
func watchParent(ctx context.Context, s *stopper) {
	parent := os.Getppid()
	if parent <= 1 {
		return
	}
	go func() {
		tick := time.NewTicker(parentPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if now := os.Getppid(); now != parent {
					s.stop(fmt.Sprintf("its parent process %d is gone", parent))
					return
				}
			}
		}
	}()
}

// boundStream is a server stream whose context ends when the host stops.
type boundStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s boundStream) Context() context.Context { return s.ctx }

// lifetimeInterceptors give every call a context that is also cancelled when
// lifetime ends, so commands started with it (the Python program, pip) are
// killed then instead of keeping a graceful stop waiting.
func lifetimeInterceptors(lifetime context.Context) []grpc.ServerOption {
	bound := func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		unhook := context.AfterFunc(lifetime, cancel)
		return ctx, func() {
			unhook()
			cancel()
		}
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(
			ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler,
		) (any, error) {
			ctx, done := bound(ctx)
			defer done()
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(
			srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler,
		) error {
			ctx, done := bound(ss.Context())
			defer done()
			return handler(srv, boundStream{ServerStream: ss, ctx: ctx})
		}),
	}
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	execPath string
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

func (h *host) Handshake(
	_ context.Context, _ *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(version, "v")}, nil
}

func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
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

type streamWriter struct {
	send func([]byte) error
}

func (w streamWriter) Write(p []byte) (int, error) {
	buf := append([]byte(nil), p...)
	if err := w.send(buf); err != nil {
		return 0, err
	}
	return len(p), nil
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
	stdout := streamWriter{func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	}}
	stderr := streamWriter{func(b []byte) error {
		return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	}}
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

	// Never send JSON null: the SDK expects an object and a list.
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{}
	}
	secretKeyList := req.GetConfigSecretKeys()
	if secretKeyList == nil {
		secretKeyList = []string{}
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(secretKeyList)
	if err != nil {
		return nil, err
	}

	args := []string{
		"-u", h.execPath,
		"--monitor", req.GetMonitorAddress(),
		"--engine", engineAddress,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--organization", req.GetOrganization(),
		"--root_directory", root,
	}
	if tracing != "" {
		args = append(args, "--tracing", tracing)
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
	cmd.Env = append(cmd.Env,
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
	)
	cmd.Dir, cmd.Stdout, cmd.Stderr = req.GetPwd(), os.Stdout, os.Stderr

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code := exitErr.ExitCode()
			if code == exitCodeUserActionable {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code),
			}, nil
		}
		return nil, fmt.Errorf("running %s: %w", cmd.Path, err)
	}
	return &pulumirpc.RunResponse{}, nil
}

var engineAddress, tracing string

func defineString(name, usage string) *string {
	if flag.Lookup(name) != nil {
		return new(string) // already registered by a dependency
	}
	return flag.String(name, "", usage)
}

func main() {
	tracingFlag := defineString("tracing", "emit tracing to a Zipkin-compatible endpoint")
	logFlow := flag.Bool("logflow", false, "flow logging settings to child processes")
	// Accepted for compatibility with the upstream host's command line; the
	// values come from Pulumi.yaml runtime options via ProgramInfo instead.
	for _, name := range []string{"root", "virtualenv", "typechecker", "toolchain", "binary"} {
		defineString(name, "ignored")
	}
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	logging.InitLogging(false, 0, *logFlow)
	tracing = *tracingFlag
	if flag.NArg() > 0 {
		engineAddress = flag.Arg(0)
	}

	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	execPath := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
	if _, err := os.Stat(execPath); err != nil {
		if p, lookErr := exec.LookPath("pulumi-language-python-exec"); lookErr == nil {
			execPath = p
		} else {
			fmt.Fprintf(os.Stderr, "fatal: pulumi-language-python-exec not found next to %s or on PATH\n", self)
			os.Exit(1)
		}
	}

	// The host's lifetime: it ends when the engine goes away or on SIGINT.
	interrupted, stopInterrupt := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stopInterrupt()
	lifetime, cancel := context.WithCancel(context.Background())
	defer cancel()
	life := &stopper{cancel: cancel}
	context.AfterFunc(interrupted, func() { life.stop("interrupted") })
	watchParent(lifetime, life)
	if engineAddress != "" {
		err := rpcutil.Healthcheck(lifetime, engineAddress, engineHealthPoll, func() {
			life.stop("the engine at " + engineAddress + " does not answer health checks")
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "fatal: could not start the engine health check: %v\n", err)
			os.Exit(1)
		}
	}
	stopServing := make(chan bool)
	context.AfterFunc(lifetime, func() { close(stopServing) })

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, &host{execPath: execPath})
			return nil
		},
		Options: append(rpcutil.OpenTracingServerInterceptorOptions(nil), lifetimeInterceptors(lifetime)...),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)

	select {
	case err = <-handle.Done:
	case <-lifetime.Done():
		select {
		case err = <-handle.Done:
		case <-time.After(shutdownGrace):
		}
	}
	if lifetime.Err() != nil {
		// Last: with the engine gone, writing to its stderr pipe may end the process.
		logging.V(3).Infof("pulumi-language-python: stopping: %s", life.reason)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
		os.Exit(1)
	}
}
