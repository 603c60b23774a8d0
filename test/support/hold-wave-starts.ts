// Test only, bundled into test/waves.test.ts's worker: the waves workflow of a warehouse named
// `wh-hold…` starts each wave only once the test lets it (`letWaveStart`), so a test can act while
// that workflow waits on a wave's start, as a slow server makes it wait in production.
import {
  condition,
  defineSignal,
  setHandler,
  type WorkflowInterceptorsFactory,
  workflowInfo,
} from '@temporalio/workflow';

/** Lets the waves workflow start this many more waves. */
export const letWaveStartSignal = defineSignal<[number]>('letWaveStart');

export const interceptors: WorkflowInterceptorsFactory = () => {
  if (!workflowInfo().workflowId.startsWith('waves-wh-hold')) return {};
  let allowed = 0;
  let started = 0;
  return {
    inbound: [
      {
        execute(input, next) {
          setHandler(letWaveStartSignal, (more) => {
            allowed += more;
          });
          return next(input);
        },
      },
    ],
    outbound: [
      {
        async startChildWorkflowExecution(input, next) {
          await condition(() => started < allowed);
          started += 1;
          return next(input);
        },
      },
    ],
  };
};
