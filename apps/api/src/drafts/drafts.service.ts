import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type {} from '@fastify/multipart';
import { type ArchiveFormat, ArchiveRejectedError, inspectArchive, sniffArchiveFormat } from '@ignite/archive';
import type { BlobStore } from '@ignite/blob-store';
import { ErrorCode } from '@ignite/contracts';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { BlobCollector } from '../blobs/blob-collector.service';
import { appNotFound, DomainError } from '../common/domain-error';
import { IncompleteBodyError, receiveToFile, TooLargeError } from '../common/receive-body';
import { type DraftSaved, type DraftView, draftView } from '../common/views';
import { type ApiConfig, uploadsDir } from '../config';
import { API_CONFIG, BLOB_STORE } from '../infra/tokens';
import { Limit, overLimit } from '../limits/limits';
import { DraftsRepository } from './drafts.repository';

/** Content types accepted as a raw archive body, and the format each one announces (octet-stream: sniffed). */
export const RAW_ARCHIVE_TYPES: Readonly<Record<string, ArchiveFormat | undefined>> = {
  'application/gzip': 'tar.gz',
  'application/x-gzip': 'tar.gz',
  'application/zip': 'zip',
  'application/octet-stream': undefined,
};
const MULTIPART = 'multipart/form-data';
export const ARCHIVE_FIELD = 'archive';

/** What a multipart part may announce beyond the raw types (browsers' names for the same formats). */
const PART_TYPES: Readonly<Record<string, ArchiveFormat>> = {
  'application/gzip': 'tar.gz',
  'application/x-gzip': 'tar.gz',
  'application/x-tar+gzip': 'tar.gz',
  'application/x-compressed-tar': 'tar.gz',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
};

export const ARCHIVE_MEDIA_TYPES: Readonly<Record<ArchiveFormat, string>> = { 'tar.gz': 'application/gzip', zip: 'application/zip' };

interface Upload {
  size: number;
  head: Buffer;
  /** The content type the client gave the archive itself (the body's, or the file part's). */
  declaredType: string;
  /** The format that type announces; undefined when it announces none (octet-stream and the like). */
  declaredFormat: ArchiveFormat | undefined;
}

/**
 * Saving a draft: the archive is streamed to a temporary file (never held in memory, never more
 * than MAX_ARCHIVE_BYTES), its format sniffed and checked against what the client declared, then
 * inspected like the build farm will unpack it. Only an archive that passes all of that reaches the
 * blob store and bumps the draft's revision; a refused one leaves no trace.
 */
@Injectable()
export class DraftsService {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly apps: AppsService,
    private readonly drafts: DraftsRepository,
    private readonly collector: BlobCollector,
    @InjectPinoLogger(DraftsService.name) private readonly logger: PinoLogger,
  ) {}

  async save(caller: AuthContext, name: string, request: FastifyRequest): Promise<DraftSaved> {
    const app = await this.apps.require(caller, name);
    const dir = uploadsDir(this.config);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `${randomUUID()}.upload`);
    try {
      const upload = await this.receive(request, tmp);
      const format = this.formatOf(upload);
      await this.inspect(tmp, format);

      const stored = await this.store.put({ path: tmp });
      let saved: Awaited<ReturnType<DraftsRepository['save']>>;
      try {
        const content = { sha256: stored.sha256, size: stored.size, format };
        saved = await this.drafts.save(caller.orgId, app.id, content, this.config.ORG_MAX_DRAFT_BYTES, async () => {
          // A collection may have removed identical bytes since `put`: store them again under the lock.
          if (!(await this.store.has(stored.sha256))) await this.store.put({ path: tmp });
        });
      } catch (error) {
        await this.collector.collect([stored.sha256]);
        throw error;
      }
      if (!saved) {
        await this.collector.collect([stored.sha256]);
        throw appNotFound(caller.org, name);
      }
      if ('overQuota' in saved) {
        await this.collector.collect([stored.sha256]);
        const max = this.config.ORG_MAX_DRAFT_BYTES;
        throw overLimit(
          Limit.draftBytes,
          max,
          `this archive (${stored.size} bytes) and the org's other drafts (${saved.overQuota} bytes) would be over the ${max} bytes org "${caller.org}" may store: delete apps it no longer needs, or send a smaller archive (leave target/ and other build output out)`,
        );
      }
      const { draft, previousSha256 } = saved;
      // The archive this save replaced goes too, unless a build (or another app) still uses it.
      if (previousSha256 && previousSha256 !== draft.sourceSha256) await this.collector.collect([previousSha256]);
      this.logger.info({ appId: app.id, revision: draft.revision, sha256: draft.sourceSha256, size: draft.size, format }, 'draft saved');
      return { revision: draft.revision, sha256: draft.sourceSha256, size: draft.size, format };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(caller: AuthContext, name: string): Promise<DraftView> {
    const app = await this.apps.require(caller, name);
    const draft = await this.drafts.find(app.id);
    if (!draft) throw noDraft(name);
    return draftView(draft);
  }

  /** The draft's archive as a stream, with what a download needs. */
  async open(caller: AuthContext, name: string): Promise<{ stream: Readable; size: number; mediaType: string; filename: string }> {
    const app = await this.apps.require(caller, name);
    const draft = await this.drafts.find(app.id);
    if (!draft) throw noDraft(name);
    const format = draft.format as ArchiveFormat;
    return {
      stream: await this.store.open(draft.sourceSha256),
      size: draft.size,
      mediaType: ARCHIVE_MEDIA_TYPES[format],
      filename: `${app.name}-r${draft.revision}.${format}`,
    };
  }

  private async receive(request: FastifyRequest, tmp: string): Promise<Upload> {
    const mediaType = mediaTypeOf(request.headers['content-type']);
    if (mediaType === MULTIPART) return this.receiveMultipart(request, tmp);
    if (mediaType === undefined || !Object.hasOwn(RAW_ARCHIVE_TYPES, mediaType)) {
      throw new DomainError(
        ErrorCode.validation,
        `unsupported content type ${JSON.stringify(request.headers['content-type'] ?? '(none)')}: send the archive as ${Object.keys(RAW_ARCHIVE_TYPES).join(', ')}, or as ${MULTIPART} with a file field named "${ARCHIVE_FIELD}"`,
        { supportedContentTypes: [...Object.keys(RAW_ARCHIVE_TYPES), MULTIPART] },
      );
    }
    const declaredLength = Number(request.headers['content-length']);
    if (Number.isFinite(declaredLength) && declaredLength > this.config.MAX_ARCHIVE_BYTES) throw this.tooLarge();
    const received = await this.receiveFile(request.raw, tmp, new IncompleteBodyError().message);
    return { ...received, declaredType: mediaType, declaredFormat: RAW_ARCHIVE_TYPES[mediaType] };
  }

  private async receiveMultipart(request: FastifyRequest, tmp: string): Promise<Upload> {
    let upload: Upload | undefined;
    try {
      const parts = request.parts({
        limits: { files: 1, fields: 16, fieldSize: 4096, parts: 32, fileSize: this.config.MAX_ARCHIVE_BYTES + 1 },
      });
      for await (const part of parts) {
        if (part.type !== 'file') continue;
        if (part.fieldname !== ARCHIVE_FIELD) {
          part.file.resume();
          throw new DomainError(
            ErrorCode.validation,
            `unexpected file field "${part.fieldname}": send the archive in a file field named "${ARCHIVE_FIELD}"`,
          );
        }
        const stopGuard = guardTruncatedPart(request.raw, part.file);
        let received: { size: number; head: Buffer };
        try {
          received = await this.receiveFile(part.file, tmp, new TruncatedPartError().message);
        } finally {
          stopGuard();
        }
        const declaredType = mediaTypeOf(part.mimetype) ?? 'application/octet-stream';
        upload = { ...received, declaredType, declaredFormat: PART_TYPES[declaredType] };
      }
    } catch (error) {
      throw multipartError(error);
    }
    if (!upload) throw new DomainError(ErrorCode.validation, `no archive: send the archive in a file field named "${ARCHIVE_FIELD}"`);
    return upload;
  }

  private async receiveFile(source: Readable, tmp: string, incomplete: string): Promise<{ size: number; head: Buffer }> {
    try {
      return await receiveToFile(source, tmp, this.config.MAX_ARCHIVE_BYTES);
    } catch (error) {
      if (error instanceof TooLargeError) throw this.tooLarge();
      if (error instanceof IncompleteBodyError) throw new DomainError(ErrorCode.validation, incomplete);
      throw error;
    }
  }

  private formatOf(upload: Upload): ArchiveFormat {
    if (upload.size === 0) throw new DomainError(ErrorCode.validation, 'the archive is empty: send a tar.gz or zip of the project');
    const sniffed = sniffArchiveFormat(upload.head);
    if (sniffed === undefined) {
      throw new DomainError(
        ErrorCode.validation,
        'the body is neither a gzip-compressed tar nor a zip archive: send a tar.gz or zip of the project',
      );
    }
    if (upload.declaredFormat !== undefined && upload.declaredFormat !== sniffed) {
      throw new DomainError(
        ErrorCode.validation,
        `content type ${upload.declaredType} announces a ${upload.declaredFormat} archive, but the bytes are a ${sniffed}: send it as ${ARCHIVE_MEDIA_TYPES[sniffed]} (or application/octet-stream)`,
        { declared: upload.declaredFormat, detected: sniffed },
      );
    }
    return sniffed;
  }

  private async inspect(path: string, format: ArchiveFormat): Promise<void> {
    try {
      await inspectArchive(path, format);
    } catch (error) {
      if (error instanceof ArchiveRejectedError) {
        throw new DomainError(ErrorCode.unprocessable, error.message, {
          reason: error.reason,
          ...(error.entry === undefined ? {} : { entry: error.entry }),
        });
      }
      throw error;
    }
  }

  private tooLarge(): DomainError {
    const limit = this.config.MAX_ARCHIVE_BYTES;
    return new DomainError(ErrorCode.payloadTooLarge, `the archive is larger than the limit of ${limit} bytes (${formatBytes(limit)})`, {
      limitBytes: limit,
    });
  }
}

function noDraft(app: string): DomainError {
  return new DomainError(ErrorCode.notFound, `app "${app}" has no draft: save one with PUT .../apps/${app}/draft`);
}

/** `type/subtype` of a Content-Type header, lower-cased, without parameters. */
export function mediaTypeOf(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

export class TruncatedPartError extends Error {
  constructor() {
    super('malformed multipart body: the archive part ends without its closing boundary');
    this.name = 'TruncatedPartError';
  }
}

/**
 * A multipart body that ends inside the file part leaves the part's stream neither ended nor
 * failed (the parser reports it before anyone listens). Once the request is fully read, a file
 * stream that sits flowing, empty and unended is such a part: it is failed so the upload ends.
 */
function guardTruncatedPart(request: Readable, file: Readable): () => void {
  let timer: NodeJS.Timeout | undefined;
  let idleChecks = 0;
  const check = () => {
    if (file.readableEnded || file.destroyed) return;
    idleChecks = file.readableFlowing !== false && file.readableLength === 0 ? idleChecks + 1 : 0;
    if (idleChecks >= 3) {
      file.destroy(new TruncatedPartError());
      return;
    }
    timer = setTimeout(check, 20);
  };
  const start = () => {
    timer = setTimeout(check, 20);
  };
  if (request.readableEnded) start();
  else request.once('end', start);
  return () => {
    request.off('end', start);
    clearTimeout(timer);
  };
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Multipart failures are the client's: a malformed body or more than one file. */
function multipartError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  if (error instanceof TruncatedPartError) return new DomainError(ErrorCode.validation, error.message);
  const code = (error as { code?: unknown } | undefined)?.code;
  switch (code) {
    case 'FST_FILES_LIMIT':
      return new DomainError(ErrorCode.validation, `send exactly one file, in a field named "${ARCHIVE_FIELD}"`);
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new DomainError(ErrorCode.validation, `too many form fields: send one file field named "${ARCHIVE_FIELD}"`);
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new DomainError(ErrorCode.validation, `malformed multipart body: ${(error as Error).message}`);
  }
  if (error instanceof Error && /multipart|boundary|Unexpected end of form|terminated early|Malformed/i.test(error.message)) {
    return new DomainError(ErrorCode.validation, `malformed multipart body: ${error.message}`);
  }
  return error;
}
