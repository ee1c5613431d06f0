/** Operator names for ids (who is assigned, who proposed): one directory fetch per screen. */
import { useCallback } from 'react';
import { useLoad } from '../common.tsx';

interface Directory { operators: Array<{ id: string; displayName: string; role: string; status: string }> }

export function useOperatorNames(): (id: string) => string {
  const loaded = useLoad<Directory>('/v1/ops/operators/directory');
  return useCallback((id: string) => {
    const found = loaded.data?.operators.find((o) => o.id === id);
    return found ? `${found.displayName} (${found.role})` : id.slice(0, 8);
  }, [loaded.data]);
}
