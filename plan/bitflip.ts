// A scheduled bitflip: its oneshot service and the timer that fires it once.
import { renderBitflipService, renderBitflipTimer, type BitflipModel } from "../components/render/bitflip";
import type { Templates } from "../components/render/templates";
import type { PlannedUnit } from "./files";

export interface BitflipPlan {
  model: BitflipModel;
  service: PlannedUnit;
  timer: PlannedUnit;
}

export function planBitflip(model: BitflipModel, t: Templates): BitflipPlan {
  return {
    model,
    service: { key: "service", unitName: model.unitName, content: renderBitflipService(model, t), activation: "install" },
    timer: { key: "timer", unitName: model.timerName, content: renderBitflipTimer(model, t), activation: "start" },
  };
}
