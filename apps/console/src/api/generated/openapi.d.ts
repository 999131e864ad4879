// Generated from the API's OpenAPI document by apps/api/src/e2e/console.e2e.spec.ts (UPDATE_API_TYPES=1). Do not edit.

export interface paths {
    "/v1/orgs/{org}/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the keys of the org, revoked ones included */
        get: operations["ApiKeysController_list"];
        put?: never;
        /** Create an API key of the org (its secret is in this answer only) */
        post: operations["ApiKeysController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/keys/{key}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke a key: refused everywhere from now on (the data plane hears of it at once) */
        delete: operations["ApiKeysController_revoke"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/whoami": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The org and key of the caller's API key (what a console shows after sign-in) */
        get: operations["WhoAmIController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up */
        get: operations["HealthController_healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Postgres and Redis are reachable */
        get: operations["HealthController_readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["HealthController_metricsText"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the apps of the org */
        get: operations["AppsController_list"];
        put?: never;
        /** Create an app */
        post: operations["AppsController_create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** An app with its draft, latest build and active release */
        get: operations["AppsController_get"];
        put?: never;
        post?: never;
        /** Delete an app with its draft, builds, releases and invocations */
        delete: operations["AppsController_delete"];
        options?: never;
        head?: never;
        /** Change who may invoke the app (auth: key | public) and its rate and concurrency limits */
        patch: operations["AppsController_update"];
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/env": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Set and unset the app's environment variables */
        patch: operations["AppsController_patchEnv"];
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/draft": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The draft's metadata */
        get: operations["DraftsController_get"];
        /**
         * Save the app's source archive as its draft
         * @description The body is the archive (tar.gz or zip, Cargo.toml at its root or in its single top-level folder), raw or as multipart/form-data with one file field named `archive`. Each save bumps the revision.
         */
        put: operations["DraftsController_save"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/draft/archive": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Download the draft's archive */
        get: operations["DraftsController_download"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/builds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Recent builds, most recent first */
        get: operations["BuildsController_list"];
        put?: never;
        /**
         * Compile the current draft
         * @description Queues a build of the current draft revision, or returns the one already queued or running for it.
         */
        post: operations["BuildsController_compile"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/builds/{buildId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A build: status, timings, diagnostics, artifact */
        get: operations["BuildsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/builds/{buildId}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The build's log as text; with follow=true, streamed until the build finishes */
        get: operations["BuildsController_logs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/builds/{buildId}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a build
         * @description A queued build is canceled at once (200); a running one is stopped by its worker (202, it becomes canceled shortly).
         */
        post: operations["BuildsController_cancel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/builds/{buildId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A build of any app of the org, by id */
        get: operations["OrgBuildsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/builds/{buildId}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A build's log by build id; with follow=true, streamed until the build finishes */
        get: operations["OrgBuildsController_logs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/releases": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Releases, newest first */
        get: operations["ReleasesController_list"];
        put?: never;
        /**
         * Publish a build as the next release and activate it
         * @description The build must have succeeded and be of the current draft revision. The body is optional.
         */
        post: operations["ReleasesController_publish"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/releases/{number}/activate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Make a release the active one (rollback or forward) */
        post: operations["ReleasesController_activate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/invoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        get: operations["InvokeController_invoke_get"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        put: operations["InvokeController_invoke_put"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        post: operations["InvokeController_invoke_post"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        delete: operations["InvokeController_invoke_delete"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        options: operations["InvokeController_invoke_options"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        head: operations["InvokeController_invoke_head"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        patch: operations["InvokeController_invoke_patch"];
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/invoke/{path}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        get: operations["InvokeController_invokeWithPath_get"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        put: operations["InvokeController_invokeWithPath_put"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        post: operations["InvokeController_invokeWithPath_post"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        delete: operations["InvokeController_invokeWithPath_delete"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        options: operations["InvokeController_invokeWithPath_options"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        head: operations["InvokeController_invokeWithPath_head"];
        /**
         * Invoke the app's active release
         * @description Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.
         */
        patch: operations["InvokeController_invokeWithPath_patch"];
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/invocations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Recent invocations, most recent first: by status, release, cold start, and before a time (to page) */
        get: operations["InvocationsController_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/invocations/{executionId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One invocation, with its log lines */
        get: operations["InvocationsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The function's log lines, oldest first
         * @description What its instances wrote to stderr (`eprintln!`; `println!` through the SDK), each line with the invocation it belongs to where that is known, and the platform's lines about its instances. Without `cursor` or `since`: the most recent lines. Page on with the answer's `cursor`.
         */
        get: operations["LogsController_page"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/logs/follow": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Follow the log live (Server-Sent Events)
         * @description Each new line as an `event: line` whose `data` is a FunctionLogLine and whose `id` is its cursor (reconnecting with Last-Event-ID misses nothing); a comment every 15 s while quiet. The same filters as the log.
         */
        get: operations["LogsController_follow"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The function's figures over a window: invocations, errors by cause, cold starts, durations, per release */
        get: operations["StatsController_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/orgs/{org}/apps/{app}/stats/timeline": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The function's invocations over a window in buckets of a step, for charts: all releases together, then each release */
        get: operations["StatsController_timeline"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        CreateApiKeyDto: {
            name: string;
        };
        ApiKey: {
            /** Format: uuid */
            id: string;
            name: string;
            /** @description The first 8 characters after `ign_`, to tell keys apart */
            prefix: string;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            lastUsedAt: string | null;
            /** Format: date-time */
            revokedAt: string | null;
        };
        ApiKeyCreatedDto: {
            key: components["schemas"]["ApiKey"];
            secret: string;
        };
        ErrorDto: {
            /** @description What went wrong, for people */
            error: string;
            /**
             * @description Stable machine-readable code
             * @enum {string}
             */
            code: "validation_failed" | "unauthorized" | "not_found" | "conflict" | "payload_too_large" | "unprocessable" | "unavailable" | "function_error" | "function_timeout" | "bad_gateway" | "misdirected_request" | "rate_limited" | "limit_exceeded" | "quota_exceeded" | "internal";
        };
        ApiKeyListDto: {
            keys: components["schemas"]["ApiKey"][];
        };
        WhoAmIDto: {
            /** @description The org slug of the caller's key */
            org: string;
            /** @description The calling key */
            key: components["schemas"]["ApiKey"];
        };
        HealthDto: {
            /** @enum {string} */
            status: "ok";
        };
        ReadyDto: {
            /** @enum {string} */
            status: "ready";
            checks: {
                /** @enum {string} */
                postgres: "ok";
                /** @enum {string} */
                redis: "ok";
            };
        };
        CreateAppDto: {
            name: string;
            /** @enum {string} */
            runtime: "rust";
            /**
             * @default native
             * @enum {string}
             */
            rustTarget: "native" | "wasm";
            /**
             * @description Environment variables of the function: names match ^[A-Za-z_][A-Za-z0-9_]*$; IGNITE_* and PORT are reserved
             * @default {}
             */
            env: {
                [key: string]: string;
            };
            /** @description Per-invocation time limit in ms (default: the runner default) */
            timeoutMs?: number;
            /** @description Per-instance memory limit in MiB (default: the runner default) */
            memoryMb?: number;
            /**
             * @description Who may invoke it: `key` (an API key of the org, the default) or `public` (anyone, no key)
             * @default key
             * @enum {string}
             */
            auth: "key" | "public";
            /** @description Most invocations a second, per runner (default: the runner's RUNNER_APP_RATE_LIMIT) */
            rateLimitPerSecond?: number;
            /** @description Most invocations at the same time, per runner (default: the runner's RUNNER_APP_CONCURRENCY) */
            concurrencyLimit?: number;
        };
        App: {
            /** Format: uuid */
            id: string;
            org: string;
            name: string;
            /** @enum {string} */
            runtime: "rust";
            /** @enum {string} */
            rustTarget: "native" | "wasm";
            env: {
                [key: string]: string;
            };
            timeoutMs: number | null;
            memoryMb: number | null;
            /**
             * @description Who may invoke it: `key` (an API key of the org) or `public` (anyone, no key)
             * @enum {string}
             */
            auth: "key" | "public";
            /** @description Most invocations a second (null: the runner's default) */
            rateLimitPerSecond: number | null;
            /** @description Most invocations at the same time (null: the runner's default) */
            concurrencyLimit: number | null;
            activeReleaseNumber: number | null;
            /**
             * Format: date-time
             * @description When the newest release was published (null: never)
             */
            lastReleasedAt: string | null;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
        };
        AppEnvelopeDto: {
            app: components["schemas"]["App"];
        };
        AppListDto: {
            apps: components["schemas"]["App"][];
        };
        AppDetail: {
            /** Format: uuid */
            id: string;
            org: string;
            name: string;
            /** @enum {string} */
            runtime: "rust";
            /** @enum {string} */
            rustTarget: "native" | "wasm";
            env: {
                [key: string]: string;
            };
            timeoutMs: number | null;
            memoryMb: number | null;
            /**
             * @description Who may invoke it: `key` (an API key of the org) or `public` (anyone, no key)
             * @enum {string}
             */
            auth: "key" | "public";
            /** @description Most invocations a second (null: the runner's default) */
            rateLimitPerSecond: number | null;
            /** @description Most invocations at the same time (null: the runner's default) */
            concurrencyLimit: number | null;
            activeReleaseNumber: number | null;
            /**
             * Format: date-time
             * @description When the newest release was published (null: never)
             */
            lastReleasedAt: string | null;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            draft: components["schemas"]["Draft"] | null;
            latestBuild: components["schemas"]["Build"] | null;
            activeRelease: components["schemas"]["Release"] | null;
        };
        Draft: {
            revision: number;
            sha256: string;
            size: number;
            /** @enum {string} */
            format: "tar.gz" | "zip";
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
        };
        Build: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            appId: string;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "canceled";
            /** @enum {string} */
            target: "native" | "wasm";
            draftRevision: number;
            sourceSha256: string;
            executor: string | null;
            attempts: number;
            /** Format: date-time */
            queuedAt: string;
            /** Format: date-time */
            startedAt: string | null;
            /** Format: date-time */
            finishedAt: string | null;
            /** Format: date-time */
            cancelRequestedAt: string | null;
            queueWaitMs: number | null;
            unpackMs: number | null;
            buildMs: number | null;
            verifyMs: number | null;
            errorSummary: string | null;
            /** @description The first compiler errors, as the worker recorded them */
            diagnostics: unknown;
            artifactSha256: string | null;
            artifactSize: number | null;
            toolchain: string | null;
            targetTriple: string | null;
            logLines: number;
        };
        Release: {
            /** Format: uuid */
            id: string;
            number: number;
            /** Format: uuid */
            buildId: string;
            /** @enum {string} */
            target: "native" | "wasm";
            artifactSha256: string;
            artifactSize: number;
            /** Format: date-time */
            createdAt: string;
            active: boolean;
        };
        AppDetailEnvelopeDto: {
            app: components["schemas"]["AppDetail"];
        };
        UpdateAppDto: {
            /**
             * @description Who may invoke it: `key` (an API key of the org, the default) or `public` (anyone, no key)
             * @enum {string}
             */
            auth?: "key" | "public";
            /** @description Most invocations a second, per runner (default: the runner's RUNNER_APP_RATE_LIMIT) */
            rateLimitPerSecond?: number | null;
            /** @description Most invocations at the same time, per runner (default: the runner's RUNNER_APP_CONCURRENCY) */
            concurrencyLimit?: number | null;
        };
        PatchEnvDto: {
            /** @description Environment variables of the function: names match ^[A-Za-z_][A-Za-z0-9_]*$; IGNITE_* and PORT are reserved */
            set?: {
                [key: string]: string;
            };
            unset?: string[];
        };
        DraftSavedDto: {
            revision: number;
            sha256: string;
            size: number;
            /** @enum {string} */
            format: "tar.gz" | "zip";
        };
        DraftDto: {
            draft: components["schemas"]["Draft"];
        };
        BuildEnvelopeDto: {
            build: components["schemas"]["Build"];
        };
        BuildListDto: {
            builds: components["schemas"]["Build"][];
        };
        PublishDto: {
            /**
             * Format: uuid
             * @description The build to publish (default: the latest build of the current draft revision)
             */
            buildId?: string;
        };
        ReleaseEnvelopeDto: {
            release: components["schemas"]["Release"];
        };
        ReleaseListDto: {
            releases: components["schemas"]["Release"][];
        };
        Invocation: {
            executionId: string;
            releaseNumber: number | null;
            statusCode: number;
            durationMs: number;
            cold: boolean;
            error: string | null;
            /** Format: date-time */
            createdAt: string;
        };
        InvocationListDto: {
            invocations: components["schemas"]["Invocation"][];
        };
        InvocationDetail: {
            executionId: string;
            releaseNumber: number | null;
            statusCode: number;
            durationMs: number;
            cold: boolean;
            error: string | null;
            /** Format: date-time */
            createdAt: string;
            /** @description The invocation's log lines, oldest first (at most 1,000) */
            logs: components["schemas"]["FunctionLogLine"][];
            logsTruncated: boolean;
        };
        FunctionLogLine: {
            /** @description The line's place in the app's log: pass the last one as `cursor` for the lines after it */
            id: string;
            /**
             * Format: date-time
             * @description When the runner read it
             */
            at: string;
            /** @description The invocation it belongs to; null for a line written outside one (or where that is unknown) */
            executionId: string | null;
            releaseNumber: number | null;
            /** @description The instance (one run of the function) that wrote it */
            instance: string;
            /**
             * @description `platform`: the platform about the instance (dropped lines, why it stopped)
             * @enum {string}
             */
            stream: "stdout" | "stderr" | "platform";
            text: string;
        };
        InvocationDetailEnvelopeDto: {
            invocation: components["schemas"]["InvocationDetail"];
        };
        FunctionLogPageDto: {
            /** @description Oldest first */
            lines: components["schemas"]["FunctionLogLine"][];
            /** @description The id of the last line: `cursor` for the next page, or for what comes later */
            cursor: string | null;
            /** @description More lines match after these (ask again with `cursor`) */
            more: boolean;
        };
        FunctionStats: {
            /** @description The window asked for (`1h`) */
            window: string;
            /** Format: date-time */
            since: string;
            /** Format: date-time */
            until: string;
            invocations: number;
            /** @description Invocations that failed (the function or the platform: 5xx) */
            errors: number;
            /** @description errors / invocations (0 when there were none) */
            errorRate: number;
            /** @description 5xx invocations by cause */
            errorsByKind: {
                /** @description The handler returned an error */
                handler: number;
                /** @description The handler panicked (its panic line is in the logs) */
                panic: number;
                /** @description It ran past its timeoutMs (504) */
                timeout: number;
                /** @description Its instance exceeded memoryMb */
                memory: number;
                /** @description The function's process died while handling it (abort, a signal, exit) */
                crash: number;
                /** @description The platform could not run it (502/503: no instance, start failure) */
                platform: number;
            };
            /** @description 4xx answers (a bad request body, too large): not counted in errors */
            clientErrors: number;
            coldStarts: number;
            coldStartRatio: number;
            durationMs: {
                p50: number | null;
                p90: number | null;
                p99: number | null;
            };
            /** @description The same figures per release, newest first */
            releases: {
                invocations: number;
                /** @description Invocations that failed (the function or the platform: 5xx) */
                errors: number;
                /** @description errors / invocations (0 when there were none) */
                errorRate: number;
                /** @description 5xx invocations by cause */
                errorsByKind: {
                    /** @description The handler returned an error */
                    handler: number;
                    /** @description The handler panicked (its panic line is in the logs) */
                    panic: number;
                    /** @description It ran past its timeoutMs (504) */
                    timeout: number;
                    /** @description Its instance exceeded memoryMb */
                    memory: number;
                    /** @description The function's process died while handling it (abort, a signal, exit) */
                    crash: number;
                    /** @description The platform could not run it (502/503: no instance, start failure) */
                    platform: number;
                };
                /** @description 4xx answers (a bad request body, too large): not counted in errors */
                clientErrors: number;
                coldStarts: number;
                coldStartRatio: number;
                durationMs: {
                    p50: number | null;
                    p90: number | null;
                    p99: number | null;
                };
                releaseNumber: number | null;
            }[];
        };
        FunctionStatsDto: {
            stats: components["schemas"]["FunctionStats"];
        };
        FunctionTimeline: {
            /** @description The window asked for (`1h`) */
            window: string;
            /** @description The length of a bucket, as asked for or chosen (`1m`) */
            step: string;
            stepSeconds: number;
            /**
             * Format: date-time
             * @description The start of the first bucket
             */
            since: string;
            /**
             * Format: date-time
             * @description The end of the window (the last bucket ends here or later)
             */
            until: string;
            /** @description All releases together first, then each release invoked in the window, newest first */
            series: {
                /** @description null: all releases together */
                releaseNumber: number | null;
                /** @description Every bucket from since to until, oldest first (empty ones too) */
                points: {
                    /**
                     * Format: date-time
                     * @description The start of the bucket (`since` + i × step)
                     */
                    at: string;
                    invocations: number;
                    /** @description Invocations that failed (5xx) */
                    errors: number;
                    /** @description errors / invocations (0 when there were none) */
                    errorRate: number;
                    coldStarts: number;
                    /** @description coldStarts / invocations (0 when there were none) */
                    coldStartRatio: number;
                    /** @description Percentiles of the durations (null for a bucket without invocations) */
                    durationMs: {
                        p50: number | null;
                        p99: number | null;
                    };
                }[];
            }[];
        };
        FunctionTimelineDto: {
            timeline: components["schemas"]["FunctionTimeline"];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    ApiKeysController_list: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyListDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    ApiKeysController_create: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateApiKeyDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyCreatedDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    ApiKeysController_revoke: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The key id */
                key: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    WhoAmIController_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WhoAmIDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    HealthController_healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthDto"];
                };
            };
        };
    };
    HealthController_readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadyDto"];
                };
            };
            /** @description A dependency is unreachable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    HealthController_metricsText: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    AppsController_list: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppListDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    AppsController_create: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateAppDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppEnvelopeDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Conflicts with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Refused: an archive that cannot be built, or over one of the platform's limits (`limit_exceeded`: the body names `limit`, `max` and the `setting` that raises it) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    AppsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppDetailEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    AppsController_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    AppsController_update: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateAppDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppEnvelopeDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    AppsController_patchEnv: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PatchEnvDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppEnvelopeDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    DraftsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DraftDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    DraftsController_save: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/gzip": string;
                "application/x-gzip": string;
                "application/zip": string;
                "application/octet-stream": string;
                "multipart/form-data": {
                    /** Format: binary */
                    archive: string;
                };
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DraftSavedDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Refused: an archive that cannot be built, or over one of the platform's limits (`limit_exceeded`: the body names `limit`, `max` and the `setting` that raises it) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    DraftsController_download: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The archive bytes */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/gzip": string;
                    "application/zip": string;
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/gzip": components["schemas"]["ErrorDto"];
                    "application/zip": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/gzip": components["schemas"]["ErrorDto"];
                    "application/zip": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    BuildsController_list: {
        parameters: {
            query?: {
                /** @description How many builds, most recent first */
                limit?: number;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildListDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    BuildsController_compile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Conflicts with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    BuildsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                buildId: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    BuildsController_logs: {
        parameters: {
            query?: {
                /** @description Keep the response open and stream lines until the build finishes */
                follow?: string;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                buildId: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One line per log line */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    BuildsController_cancel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                buildId: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Canceled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildEnvelopeDto"];
                };
            };
            /** @description Cancellation requested */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Conflicts with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    OrgBuildsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                buildId: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    OrgBuildsController_logs: {
        parameters: {
            query?: {
                /** @description Keep the response open and stream lines until the build finishes */
                follow?: string;
            };
            header?: never;
            path: {
                buildId: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One line per log line */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    ReleasesController_list: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReleaseListDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    ReleasesController_publish: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["PublishDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReleaseEnvelopeDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Conflicts with the current state */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    ReleasesController_activate: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                number: number;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReleaseEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_options: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_head: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invoke_patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_options: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_head: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvokeController_invokeWithPath_patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org slug (the org of the API key) */
                org: string;
                /** @description The app name */
                app: string;
                /** @description The rest of the path, passed to the function */
                path: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "*/*": string;
            };
        };
        responses: {
            /** @description The function's answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Body larger than the limit */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does) */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description The runner answered badly */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description A dependency is unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvocationsController_list: {
        parameters: {
            query?: {
                /** @description How many invocations, most recent first */
                limit?: number;
                /** @description Only these: `ok` (statusCode < 400), `error` (5xx: the function or the platform failed), `client` (4xx) */
                status?: "ok" | "error" | "client";
                /** @description Only the invocations of this release number */
                release?: number;
                /** @description `true`: only cold starts; `false`: only invocations a warm instance answered */
                cold?: "true" | "false";
                /** @description Only invocations created before this time: the `createdAt` of the last one of a page, for the next page */
                before?: string;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationListDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    InvocationsController_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The invocation's execution id (x-ignite-execution-id) */
                executionId: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationDetailEnvelopeDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    LogsController_page: {
        parameters: {
            query?: {
                /** @description An ISO 8601 time, or a duration back from now: `90s`, `10m`, `2h`, `7d` */
                since?: string;
                /** @description An ISO 8601 time, or a duration back from now: `90s`, `10m`, `2h`, `7d` */
                until?: string;
                /** @description Only the lines of this invocation (its execution id) */
                execution?: string;
                /** @description Only the lines of this release number */
                release?: number;
                /** @description Only lines containing this text (case-insensitive) */
                contains?: string;
                /** @description How many lines at most */
                limit?: number;
                /** @description The lines after this one (the `cursor` of an earlier answer). Without it and without `since`: the most recent lines */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionLogPageDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    LogsController_follow: {
        parameters: {
            query?: {
                /** @description An ISO 8601 time, or a duration back from now: `90s`, `10m`, `2h`, `7d` */
                since?: string;
                /** @description An ISO 8601 time, or a duration back from now: `90s`, `10m`, `2h`, `7d` */
                until?: string;
                /** @description Only the lines of this invocation (its execution id) */
                execution?: string;
                /** @description Only the lines of this release number */
                release?: number;
                /** @description Only lines containing this text (case-insensitive) */
                contains?: string;
                /** @description Start after this line (also read from Last-Event-ID); without it, with the lines stored from now on */
                cursor?: string;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An event stream */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": string;
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    StatsController_get: {
        parameters: {
            query?: {
                /** @description How far back from now: `15m`, `1h`, `7d` */
                window?: string;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionStatsDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
    StatsController_timeline: {
        parameters: {
            query?: {
                /** @description How far back from now: `15m`, `1h`, `7d` */
                window?: string;
                /** @description The length of a bucket: `1s` or more, at most 1,500 buckets to the window. Without it, the shortest of 1s, 5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d that gives at most 100 buckets (1h: 1m, 1d: 15m, 7d: 2h), or whole days beyond */
                step?: string;
            };
            header?: never;
            path: {
                /** @description The app name */
                app: string;
                /** @description The org slug (the org of the API key) */
                org: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionTimelineDto"];
                };
            };
            /** @description Invalid request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Missing or invalid API key */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
            /** @description Not found (or not visible to this key) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorDto"];
                };
            };
        };
    };
}
