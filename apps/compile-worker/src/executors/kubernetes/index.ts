export { packBuildContext, rewriteSdkPaths, type SdkLocation } from './build-context';
export { BUILD_EXIT_CODES, buildPodCommand, buildPodScript } from './build-script';
export { type BuildJobReading, type BuildJobState, readBuildJob } from './build-status';
export { BUILD_ID_LABEL, BUILD_LABELS, BUILD_SELECTOR, type BuildJobOptions, buildJobManifest, buildJobName } from './job-manifest';
export { type KubernetesExecutorConfig, kubernetesExecutorConfigSchema } from './kubernetes-config';
export {
  createKubernetesExecutor,
  KubernetesExecutor,
  type KubernetesExecutorOptions,
  kubernetesExecutorOptions,
  type OrphanReport,
} from './kubernetes-executor';
