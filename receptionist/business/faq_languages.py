"""Per-language word lists for FAQ matching: stopwords, and synonyms that map a caller's
words onto the canonical (English) terms the matcher compares, so a Spanish question
finds an English FAQ entry. All words are written case- and accent-folded, as the
matcher folds them ("dirección" -> "direccion")."""

from __future__ import annotations

import unicodedata

# Canonical term -> words callers use for it, per language.
SYNONYM_GROUPS: dict[str, dict[str, str]] = {
    "en": {
        "cost": "cost price pric fee charge much expensive cheap rate",
        "pay": "pay payment paying card cash credit check financing",
        "insurance": "insurance insur insured insurer coverage cover covered ppo hmo",
        "accept": "accept take",
        "hour": "hour open close clos closing opening time",
        "location": "location locat address direction located",
        "park": "park parking",
        "appointment": "appointment appoint book booking schedule visit",
        "cancel": "cancel cancellation cancell",
        "emergency": "emergency urgent",
        "new": "new first",
    },
    "es": {
        "cost": "costo coste cuesta cuestan precio precios tarifa cuanto caro barato",
        "pay": "pagar pago pagos tarjeta efectivo credito financiacion financiamiento",
        "insurance": "seguro seguros aseguradora aseguradoras cobertura cubre asegurado",
        "accept": "aceptan acepta aceptar aceptais toman trabajan",
        "hour": "horario horarios hora horas abren abierto abiertos cierran cerrado abre cierra",
        "location": "direccion ubicacion ubicados ubicado encuentran quedan",
        "park": "estacionamiento estacionar aparcamiento aparcar parqueo parking",
        "appointment": "cita citas reservar reserva agendar turno consulta",
        "cancel": "cancelar cancelacion anular",
        "emergency": "emergencia urgencia urgente",
        "new": "nuevo nueva nuevos nuevas primera primer",
        "dental": "dental dentales dentista odontologo",
        "patient": "paciente pacientes",
        "cleaning": "limpieza limpiezas",
    },
}
STOPWORDS: dict[str, str] = {
    "en": "a about an and any are as at be can could do does did for from get got have how i "
    "i'd i'm if in is it its me my of on or our please so that the their there there's this "
    "to us was we what which who will with would you your yours hi hello just like want need "
    "know tell wondering guys hey um uh ok okay yeah yes thanks thank also still really",
    "es": "a al algo algun alguna como con cual cuales de del el ella ellos en es esta estan "
    "este hay la las le les lo los me mi mis muy no o para pero por puedo pueden que quiero "
    "quisiera saber se si sin sobre su sus tambien tengo tiene tienen un una uno unos unas y "
    "yo usted ustedes ustedes hola buenos buenas dias tardes gracias favor bueno pues oiga "
    "necesito ser son mas",
}
# Words that hint at a topic but come up in questions about anything: half weight.
WEAK: dict[str, dict[str, str]] = {
    "en": {"where": "location", "when": "hour"},
    "es": {"donde": "location", "cuando": "hour"},
}


def fold(text: str) -> str:
    """Case- and accent-folded: "¿Aceptan SEGURO dentál?" -> "¿aceptan seguro dental?"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
