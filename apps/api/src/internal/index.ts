export { BuildTokenGuard, RequiresBuildToken } from './build-token.guard';
export {
  INTERNAL_BUILDS_CONFIG,
  type InternalBuildsConfig,
  InternalBuildsEnvSchema,
  internalBuildsConfigFromEnv,
} from './internal-builds.config';
export { InternalBuildsController } from './internal-builds.controller';
export { InternalBuildsModule } from './internal-builds.module';
export { InternalBuildsService } from './internal-builds.service';
