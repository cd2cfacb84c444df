/**
 * The learning-rate schedule: step decay after every epoch, as cs231n's Solver does
 * (`self.optim_configs[p]['learning_rate'] *= self.lr_decay` at the end of each epoch), written
 * in closed form so that a resume at any epoch gets the same rate without replaying the decays.
 */

/** Learning rate after `epoch` completed epochs: lr0 · decay^epoch. */
export function lrAtEpoch(lr0: number, decay: number, epoch: number): number {
  return lr0 * Math.pow(decay, epoch);
}
