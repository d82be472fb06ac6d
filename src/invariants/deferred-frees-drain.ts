/**
 * I-6 (kernel.md §6), for CONFIG_ASYNC_KERNEL_PGTABLE_FREE: when every thread has finished, no
 * kernel page-table page is still waiting in kernel_pgtable_work.list. The list drains iff the work
 * item runs; on system_wq that needs a kworker, which cannot be created under memory pressure, and
 * a queue without WQ_MEM_RECLAIM has no rescuer (David Hildenbrand's shrinker concern and Jason
 * Gunthorpe's WQ_MEM_RECLAIM suggestion on v7 7/8). An end-of-execution property (Monitor.onEnd):
 * a finite run stands for "under a fair scheduler, eventually".
 */
import type { Property } from '../core/index.js';
import { kptListLoc } from '../model/mm/kernel_pgtable.js';

export const deferredFreesDrain: Property = {
  id: 'deferred-frees-drain',
  title: 'Deferred kernel page-table frees drain',
  description:
    'At the end of an execution, after every thread has finished, kernel page-table pages are still queued on ' +
    'kernel_pgtable_work.list: the work item that frees them never ran (no kworker could be created and the ' +
    'workqueue has no rescuer), so under sustained memory pressure they accumulate (I-6).',
  monitor: () => ({
    onEvent: () => null,
    onEnd: (read) => {
      const list = read(kptListLoc) as readonly string[];
      if (list.length === 0) return null;
      return {
        message: `${list.length} kernel page-table page(s) (${list.join(', ')}) still queued on kernel_pgtable_work.list when every thread had finished: the work never ran`,
        details: { pages: [...list] },
      };
    },
  }),
};
