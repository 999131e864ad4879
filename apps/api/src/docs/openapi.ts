import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { RAW_ARCHIVE_TYPES } from '../drafts/drafts.service';

const binary = { type: 'string', format: 'binary' } as const;

/** The parts of an operation object this file rewrites. */
interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: ({ name?: string; in?: string } & Record<string, unknown>)[];
  requestBody?: unknown;
  responses?: unknown;
}

/** The OpenAPI document of every route, from the controllers and their zod DTOs. */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Ignite API')
    .setDescription(
      'Upload Rust source, compile it, publish it as an immutable release and invoke it over HTTP. Every /v1 route takes `Authorization: Bearer <key>` and is scoped to the org of the key. Every error body is `{ "error": message, "code": code }`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key: ign_...' })
    .build();
  const document = cleanupOpenApiDoc(SwaggerModule.createDocument(app, config));
  return refine(document);
}

/**
 * What the decorators cannot say: invoke's wildcard as a `{path}` parameter, one operation id per
 * method of the any-method invoke routes, their opaque bodies, and the draft's request bodies.
 */
function refine(document: OpenAPIObject): OpenAPIObject {
  const paths: OpenAPIObject['paths'] = {};
  for (const [path, item] of Object.entries(document.paths)) {
    const wildcard = /\/invoke\/(\*|\{[^}]+\})$/.test(path);
    const renamed = wildcard ? path.replace(/\/invoke\/(\*|\{[^}]+\})$/, '/invoke/{path}') : path;
    const copy = JSON.parse(JSON.stringify(item)) as typeof item;
    for (const [method, value] of Object.entries(copy)) {
      const operation = value as Operation;
      if (!operation || typeof operation !== 'object' || !('responses' in operation) || !operation.tags?.includes('invoke')) continue;
      operation.operationId = `InvokeController_${wildcard ? 'invokeWithPath' : 'invoke'}_${method}`;
      operation.requestBody = { required: false, content: { '*/*': { schema: binary } } };
      if (wildcard) {
        const others = (operation.parameters ?? []).filter(
          (parameter) => !(parameter.in === 'path' && !['org', 'app'].includes(parameter.name ?? '')),
        );
        operation.parameters = [
          ...others,
          {
            name: 'path',
            in: 'path',
            required: true,
            description: 'The rest of the path, passed to the function',
            schema: { type: 'string' },
          },
        ];
      }
    }
    paths[renamed] = copy;
  }
  const draft = Object.entries(paths).find(([path]) => path.endsWith('/draft'))?.[1];
  if (draft?.put) {
    draft.put.requestBody = {
      required: true,
      content: {
        ...Object.fromEntries(Object.keys(RAW_ARCHIVE_TYPES).map((type) => [type, { schema: binary }])),
        'multipart/form-data': { schema: { type: 'object', properties: { archive: binary }, required: ['archive'] } },
      },
    };
  }
  return { ...document, paths, components: repairNullables(document.components) };
}

/**
 * Nullable strings that are a DTO's own top-level properties (not inside a named schema) come out
 * of the swagger scanner as arrays of strings (it reads zod's `type: [string, null]` as a list):
 * each such property is put back as the nullable string it is.
 */
const TOP_LEVEL_NULLABLE_STRINGS: Record<string, string[]> = { FunctionLogPageDto: ['cursor'] };

function repairNullables(components: OpenAPIObject['components']): OpenAPIObject['components'] {
  const schemas = { ...components?.schemas };
  for (const [name, properties] of Object.entries(TOP_LEVEL_NULLABLE_STRINGS)) {
    const schema = schemas[name] as { properties?: Record<string, { description?: string; type?: string }> } | undefined;
    for (const property of properties) {
      const broken = schema?.properties?.[property];
      if (!schema?.properties || broken?.type !== 'array') continue;
      schema.properties[property] = {
        type: 'string',
        nullable: true,
        ...(broken.description ? { description: broken.description } : {}),
      } as never;
    }
  }
  return { ...components, schemas };
}

const UI_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ignite API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/swagger-ui-init.js"></script>
</body>
</html>
`;

const UI_INIT = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/docs-json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * `/docs-json` (the document) and `/docs` (Swagger UI, its assets served from swagger-ui-dist).
 * Neither needs a key.
 */
export async function serveDocs(app: NestFastifyApplication, document: OpenAPIObject): Promise<void> {
  SwaggerModule.setup('docs', app, document, { swaggerUiEnabled: false, raw: ['json'], jsonDocumentUrl: 'docs-json' });
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyStatic, {
    root: dirname(require.resolve('swagger-ui-dist/package.json')),
    prefix: '/docs/',
    decorateReply: false,
    index: false,
    allowedPath: (path) => /^\/(swagger-ui[\w.-]*\.(js|css)(\.map)?|favicon-\d+x\d+\.png)$/.test(path),
  });
  fastify.get('/docs', (_request, reply) => reply.type('text/html; charset=utf-8').send(UI_HTML));
  fastify.get('/docs/swagger-ui-init.js', (_request, reply) => reply.type('application/javascript; charset=utf-8').send(UI_INIT));
}
