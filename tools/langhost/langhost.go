// Package langhost is what this project's minimal Pulumi language hosts share:
// the command line the engine starts them with, serving the LanguageRuntime
// protocol, and a lifetime bound to the engine's.
//
// The engine passes its own gRPC address as the first argument and starts the
// host as its child, in a process group of the host's own, so killing the
// engine's group (a CI job's timeout, kill -9) does not reach the host. A host
// therefore stops by itself when its parent process is gone (it is re-parented,
// so the parent pid it sees changes; checked every parentPoll), when the
// engine's address stops answering gRPC health checks (every engineHealthPoll,
// as the upstream hosts do), or on SIGINT. Stopping cancels every call in
// flight, which kills the program it runs, and the process exits within
// shutdownGrace.
package langhost

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// ExitCodeUserActionable is what the SDKs' program runners (Python's
// pulumi-language-python-exec, Node.js's @pulumi/pulumi/cmd/run) exit with
// after they have already shown the user an error.
const ExitCodeUserActionable = 32

const (
	// parentPoll is how often the host checks that its parent is still there.
	parentPoll = 250 * time.Millisecond
	// engineHealthPoll is how often the engine's gRPC health is checked.
	engineHealthPoll = 5 * time.Minute
	// shutdownGrace bounds the wait for calls in flight once the host stops.
	shutdownGrace = 5 * time.Second
)

// Args is what the engine's command line tells a host.
type Args struct {
	// Engine is the engine's gRPC address (empty when started by hand).
	Engine string
	// Tracing is a Zipkin-compatible endpoint, or empty.
	Tracing string
}

// Host describes one language host for Main.
type Host struct {
	// Name is the command's name, used in log lines.
	Name string
	// Version is what -version prints and GetPluginInfo reports.
	Version string
	// Ignored are flags the upstream host accepts whose values now come from
	// Pulumi.yaml's runtime options through ProgramInfo.
	Ignored []string
	// New builds the server once the command line is read.
	New func(Args) (pulumirpc.LanguageRuntimeServer, error)
}

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
// lifetime ends, so commands started with it (the program, a package manager)
// are killed then instead of keeping a graceful stop waiting.
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

func defineString(name, usage string) *string {
	if flag.Lookup(name) != nil {
		return new(string) // already registered by a dependency
	}
	return flag.String(name, "", usage)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "fatal: %v\n", err)
	os.Exit(1)
}

// Main reads the command line, serves h until the engine goes away, and exits.
func Main(h Host) {
	tracingFlag := defineString("tracing", "emit tracing to a Zipkin-compatible endpoint")
	logFlow := flag.Bool("logflow", false, "flow logging settings to child processes")
	for _, name := range h.Ignored {
		defineString(name, "ignored")
	}
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(h.Version)
		return
	}
	logging.InitLogging(false, 0, *logFlow)
	args := Args{Tracing: *tracingFlag}
	if flag.NArg() > 0 {
		args.Engine = flag.Arg(0)
	}
	server, err := h.New(args)
	if err != nil {
		fatal(err)
	}

	// The host's lifetime: it ends when the engine goes away or on SIGINT.
	interrupted, stopInterrupt := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stopInterrupt()
	lifetime, cancel := context.WithCancel(context.Background())
	defer cancel()
	life := &stopper{cancel: cancel}
	context.AfterFunc(interrupted, func() { life.stop("interrupted") })
	watchParent(lifetime, life)
	if args.Engine != "" {
		err := rpcutil.Healthcheck(lifetime, args.Engine, engineHealthPoll, func() {
			life.stop("the engine at " + args.Engine + " does not answer health checks")
		})
		if err != nil {
			fatal(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}
	stopServing := make(chan bool)
	context.AfterFunc(lifetime, func() { close(stopServing) })

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, server)
			return nil
		},
		Options: append(rpcutil.OpenTracingServerInterceptorOptions(nil), lifetimeInterceptors(lifetime)...),
	})
	if err != nil {
		fatal(err)
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
		logging.V(3).Infof("%s: stopping: %s", h.Name, life.reason)
		os.Exit(0)
	}
	if err != nil {
		fatal(err)
	}
}

// StreamWriter sends what is written to it as one message each (the output of
// InstallDependencies).
type StreamWriter func([]byte) error

func (w StreamWriter) Write(p []byte) (int, error) {
	if err := w(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Config is the program's configuration and its secret keys as the SDKs read
// them from the environment (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS): JSON
// objects and lists, never null.
func Config(req *pulumirpc.RunRequest) ([]string, error) {
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{}
	}
	secretKeyList := req.GetConfigSecretKeys()
	if secretKeyList == nil {
		secretKeyList = []string{}
	}
	config, err := jsonText(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := jsonText(secretKeyList)
	if err != nil {
		return nil, err
	}
	return []string{"PULUMI_CONFIG=" + config, "PULUMI_CONFIG_SECRET_KEYS=" + secretKeys}, nil
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Outcome is the engine's answer once the program's runner, cmd, has ended
// with err: a runner that already showed the user an error bails, another
// failure names the exit code.
func Outcome(cmd *exec.Cmd, err error) (*pulumirpc.RunResponse, error) {
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code := exitErr.ExitCode()
		if code == ExitCodeUserActionable {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code),
		}, nil
	}
	return nil, fmt.Errorf("running %s: %w", cmd.Path, err)
}

// Basics answers the calls every host answers the same way; a host embeds it
// and implements the rest (Run, InstallDependencies, About, ...).
type Basics struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	// Version is the host's version (vX.Y.Z).
	Version string
}

func (Basics) Handshake(
	context.Context, *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (b Basics) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(b.Version, "v")}, nil
}

// GetRequiredPlugins names none: the engine finds the plugins a program's
// resources need on PATH or installed when it registers them.
func (Basics) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (Basics) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (Basics) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (Basics) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
