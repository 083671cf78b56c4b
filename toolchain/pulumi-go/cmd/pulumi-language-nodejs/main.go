// pulumi-language-nodejs is mirrorkit's own Node.js language host for the
// Pulumi engine. Upstream's host lives in a Go module the module proxy
// reachable from these machines refuses to serve, so this small replacement
// speaks the same LanguageRuntime gRPC contract (sdk/v3/proto) and starts the
// runner scripts that ship inside the npm package @pulumi/pulumi:
// cmd/run for programs and cmd/run-policy-pack for policy packs.
//
// Scope: what `pulumi preview/up/destroy` and `--policy-pack` use. Calls the
// kit never needs (InstallDependencies, GenerateProject, ...) answer
// Unimplemented, which the engine reports clearly.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is stamped at build time to match the CLI.
var version = "3.259.0"

// exitCodeBail is what @pulumi/pulumi's runner exits with after it has
// already printed a user-actionable error; the engine then prints no stack.
const exitCodeBail = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
}

func main() {
	// The engine may pass flags such as -tracing; they are accepted and ignored.
	flag.String("tracing", "", "ignored")
	flag.String("root", "", "ignored")
	flag.Parse()

	h := &host{}
	if args := flag.Args(); len(args) > 0 {
		h.engineAddress = args[len(args)-1]
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: cannot serve: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: stopped: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// packageJSON holds the fields of a package.json that name a provider plugin.
type packageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// resourcePlugins lists the provider plugins the packages installed in
// node_modules declare ("pulumi": {"resource": true}). Only top-level and
// scoped packages are read: npm hoists provider SDKs there.
func resourcePlugins(programDir string) ([]*pulumirpc.PackageDependency, error) {
	modules, err := findUp(programDir, "node_modules")
	if err != nil {
		return nil, nil // no dependencies installed: nothing to report
	}
	var manifests []string
	entries, err := os.ReadDir(modules)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "@") {
			scoped, _ := os.ReadDir(filepath.Join(modules, e.Name()))
			for _, s := range scoped {
				manifests = append(manifests, filepath.Join(modules, e.Name(), s.Name(), "package.json"))
			}
			continue
		}
		manifests = append(manifests, filepath.Join(modules, e.Name(), "package.json"))
	}
	var deps []*pulumirpc.PackageDependency
	for _, path := range manifests {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var pkg packageJSON
		if json.Unmarshal(raw, &pkg) != nil || !pkg.Pulumi.Resource {
			continue
		}
		name := pkg.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(strings.TrimPrefix(pkg.Name, "@pulumi/"), "@")
		}
		ver := pkg.Pulumi.Version
		if ver == "" {
			ver = pkg.Version
		}
		if ver != "" && !strings.HasPrefix(ver, "v") {
			ver = "v" + ver
		}
		deps = append(deps, &pulumirpc.PackageDependency{
			Kind: "resource", Name: name, Version: ver, Server: pkg.Pulumi.Server,
		})
	}
	return deps, nil
}

func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := resourcePlugins(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func (h *host) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	deps, err := resourcePlugins(dir)
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(deps))
	for _, d := range deps {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Kind: d.Kind, Name: d.Name, Version: d.Version, Server: d.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// findUp returns dir/name or the nearest ancestor's, the way Node resolves.
func findUp(dir, name string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(abs, name)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", fmt.Errorf("%s not found above %s; run npm install", name, dir)
		}
		abs = parent
	}
}

// runnerScript finds one of @pulumi/pulumi's cmd/<name> runner scripts.
func runnerScript(dir, name string) (string, error) {
	if override := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); override != "" && name == "run" {
		return override, nil
	}
	return findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", name))
}

// runtimeEnv turns the project's runtime options into the variables the
// runner reads (TypeScript is on unless `typescript: false`).
func runtimeEnv(info *pulumirpc.ProgramInfo) []string {
	opts := info.GetOptions().AsMap()
	env := []string{"PULUMI_NODEJS_TYPESCRIPT=true"}
	if ts, ok := opts["typescript"].(bool); ok && !ts {
		env[0] = "PULUMI_NODEJS_TYPESCRIPT=false"
	}
	if path, ok := opts["tsconfig"].(string); ok && path != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+path)
	}
	return env
}

func (h *host) Run(_ context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	script, err := runnerScript(programDir, "run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	args := []string{script}
	flagIf := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagIf("monitor", req.GetMonitorAddress())
	flagIf("engine", h.engine())
	flagIf("organization", req.GetOrganization())
	flagIf("project", req.GetProject())
	flagIf("stack", req.GetStack())
	flagIf("pwd", req.GetPwd())
	flagIf("root-directory", info.GetRootDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagIf("parallel", fmt.Sprint(req.GetParallel()))
	program := req.GetProgram()
	if program == "" {
		program = "."
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), runtimeEnv(info)...)
	env = append(env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))

	cmd := exec.Command("node", args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitCodeBail {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run node: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// streamWriter forwards a plugin's output to the engine as RunPlugin messages.
type streamWriter struct {
	mu     *sync.Mutex
	srv    pulumirpc.LanguageRuntime_RunPluginServer
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	buf := append([]byte(nil), p...)
	msg := &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: buf}}
	if w.stderr {
		msg = &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: buf}}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.srv.Send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

// RunPlugin starts a plugin written in Node.js: a policy pack (kind
// "analyzer") through cmd/run-policy-pack, anything else through
// cmd/run-plugin. The plugin prints its port on stdout, which is streamed.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, srv pulumirpc.LanguageRuntime_RunPluginServer) error {
	dir := req.GetInfo().GetProgramDirectory()
	runner := "run-plugin"
	if req.GetKind() == "analyzer" {
		runner = "run-policy-pack"
	}
	script, err := runnerScript(dir, runner)
	if err != nil {
		return err
	}
	args := []string{script}
	if runner == "run-policy-pack" {
		args = append(args, req.GetArgs()...) // the engine's address comes first
		args = append(args, dir)
	} else {
		args = append(args, dir)
		args = append(args, req.GetArgs()...)
	}

	cmd := exec.CommandContext(srv.Context(), "node", args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, req.GetEnv()...), runtimeEnv(req.GetInfo())...)
	if len(req.GetEnv()) == 0 {
		cmd.Env = append(os.Environ(), cmd.Env...)
	}
	var mu sync.Mutex
	cmd.Stdout = streamWriter{mu: &mu, srv: srv}
	cmd.Stderr = streamWriter{mu: &mu, srv: srv, stderr: true}
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return fmt.Errorf("could not run node for %s: %w", req.GetKind(), err)
		}
		code = int32(exitErr.ExitCode())
	}
	mu.Lock()
	defer mu.Unlock()
	return srv.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

var _ io.Writer = streamWriter{}
