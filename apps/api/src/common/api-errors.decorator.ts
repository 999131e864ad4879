import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { ErrorBodySchema } from './error-body';

export class ErrorDto extends createZodDto(ErrorBodySchema) {}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid API key',
  404: 'Not found (or not visible to this key)',
  409: 'Conflicts with the current state',
  413: 'Body larger than the limit',
  422: "Refused: an archive that cannot be built, or over one of the platform's limits (`limit_exceeded`: the body names `limit`, `max` and the `setting` that raises it)",
  429: 'Over a rate, concurrency or in-flight quota (retry after the retry-after seconds; `quota_exceeded` names the quota as 422 does)',
  502: 'The runner answered badly',
  503: 'A dependency is unavailable',
};

/** Documents the error answers of a route (every one has the `Error` body). */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ...[401, 404, ...statuses].map((status) => ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorDto })),
  );
}
